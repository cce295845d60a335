// Starts one `marketplace dev` for the whole browser run: free ports, a fresh data
// directory, the built app (vite build), the demo catalogue. Its address goes to the
// tests in MARKETPLACE_E2E_BASE; global-teardown.ts stops it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdtempSync, openSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const WEB = resolve(fileURLToPath(new URL('..', import.meta.url)))
const ROOT = resolve(WEB, '..')
const PYTHON = process.env.MARKETPLACE_PYTHON ?? join(ROOT, '.venv', 'bin', 'python')
const READY_TIMEOUT_MS = 240_000

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer()
    server.unref()
    server.on('error', fail)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => done(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

async function waitReady(base: string, dev: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (dev.exitCode !== null) throw new Error(`marketplace dev exited (${dev.exitCode}); see ${log}`)
    try {
      const answer = await fetch(`${base}/ready`)
      if (answer.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((wake) => setTimeout(wake, 500))
  }
  throw new Error(`marketplace dev was not ready in ${READY_TIMEOUT_MS / 1000} s; see ${log}`)
}

export default async function globalSetup(): Promise<void> {
  if (process.env.MARKETPLACE_E2E_SKIP_BUILD !== '1') {
    const built = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: WEB, stdio: 'inherit' })
    if (built.status !== 0) throw new Error('vite build failed')
  }
  // As root, embedded Postgres runs as its own user, which must reach the data folder.
  const data = mkdtempSync(join(tmpdir(), 'marketplace-e2e-'))
  chmodSync(data, 0o755)
  const [api, temporal, temporalUi] = [await freePort(), await freePort(), await freePort()]
  const base = `http://127.0.0.1:${api}`
  const env = {
    ...process.env,
    MARKETPLACE_DATA_DIR: join(data, 'data'),
    MARKETPLACE_API_PORT: String(api),
    MARKETPLACE_PUBLIC_BASE_URL: base,
    MARKETPLACE_TEMPORAL_DEV_PORT: String(temporal),
    MARKETPLACE_TEMPORAL_UI_PORT: String(temporalUi),
    MARKETPLACE_WEB_DIST_DIR: join(WEB, 'dist'),
  }
  delete env.MARKETPLACE_DATABASE_URL
  delete env.MARKETPLACE_TEMPORAL_ADDRESS
  const log = join(data, 'dev.log')
  const out = openSync(log, 'a')
  const dev = spawn(PYTHON, ['-m', 'cli.main', 'dev'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', out, out],
    detached: true,
  })
  process.env.MARKETPLACE_E2E_DEV_PID = String(dev.pid)
  process.env.MARKETPLACE_E2E_DATA = data
  try {
    await waitReady(base, dev, log)
    const seeded = spawnSync(PYTHON, ['-m', 'tests.web_seed'], { cwd: ROOT, env, encoding: 'utf8' })
    if (seeded.status !== 0) throw new Error(`seeding failed:\n${seeded.stdout}\n${seeded.stderr}`)
    process.env.MARKETPLACE_E2E_SEED = seeded.stdout.trim()
  } catch (failure) {
    // No teardown runs after a failed setup: stop what was started here.
    dev.kill('SIGINT')
    throw failure
  }
  process.env.MARKETPLACE_E2E_BASE = base
}
