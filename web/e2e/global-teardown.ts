// Stops the `marketplace dev` global-setup.ts started (SIGINT, as Ctrl-C: it stops its
// worker, API, Temporal and Postgres) and removes its data directory.
import { rmSync } from 'node:fs'

export default async function globalTeardown(): Promise<void> {
  const pid = Number(process.env.MARKETPLACE_E2E_DEV_PID)
  if (pid > 0) {
    try {
      process.kill(pid, 'SIGINT')
    } catch {
      // already gone
    }
    const deadline = Date.now() + 90_000
    while (Date.now() < deadline) {
      try {
        process.kill(pid, 0)
      } catch {
        break
      }
      await new Promise((wake) => setTimeout(wake, 250))
    }
  }
  const data = process.env.MARKETPLACE_E2E_DATA
  if (data && process.env.MARKETPLACE_E2E_KEEP_DATA !== '1') {
    rmSync(data, { recursive: true, force: true })
  }
}
