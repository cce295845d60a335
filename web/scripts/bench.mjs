// Bundle sizes and the first page's load timings, measured in Chromium.
//
//   npm run bench                              # against `make run` (http://127.0.0.1:8000)
//   npm run bench -- --url http://host:port    # another running marketplace
//
// Prints every built asset (raw and gzip), then loads /marketplace in headless Chromium
// (/usr/bin/chromium, or MARKETPLACE_CHROMIUM) a few times with a cold cache and reports
// the JavaScript that page fetched (gzip) and its timings: DOMContentLoaded, load, and
// the first module card on screen. Exits 1 when the first page needs more than the budget
// (200 kB of JavaScript, gzip).
import { chromium } from '@playwright/test'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const BUDGET = 200 * 1024
const RUNS = 3
const args = process.argv.slice(2)
const url = (args[args.indexOf('--url') + 1] && args.includes('--url')
  ? args[args.indexOf('--url') + 1]
  : 'http://127.0.0.1:8000'
).replace(/\/$/, '')
const assets = fileURLToPath(new URL('../dist/assets', import.meta.url))

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} kB`
const gzipped = (buffer) => gzipSync(buffer, { level: 9 }).length

console.log('Bundle (web/dist/assets)')
let totalRaw = 0
let totalGzip = 0
for (const name of readdirSync(assets).sort()) {
  const body = readFileSync(join(assets, name))
  totalRaw += body.length
  totalGzip += gzipped(body)
  console.log(`  ${name.padEnd(40)} ${kb(body.length).padStart(10)} ${kb(gzipped(body)).padStart(10)} gzip`)
}
console.log(`  ${'total'.padEnd(40)} ${kb(totalRaw).padStart(10)} ${kb(totalGzip).padStart(10)} gzip\n`)

const browser = await chromium.launch({
  executablePath: process.env.MARKETPLACE_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox'],
})
const timings = []
let firstPageJs = 0
let scripts = []
try {
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext() // a cold cache every run
    const page = await context.newPage()
    const bodies = []
    page.on('response', async (response) => {
      if (response.request().resourceType() === 'script') {
        bodies.push({ url: response.url(), body: await response.body() })
      }
    })
    const started = Date.now()
    await page.goto(`${url}/marketplace`)
    await page.getByRole('article').first().waitFor()
    const cardShown = Date.now() - started
    const nav = await page.evaluate(() => {
      const [entry] = performance.getEntriesByType('navigation')
      return { dcl: entry.domContentLoadedEventEnd, load: entry.loadEventEnd, ttfb: entry.responseStart }
    })
    timings.push({ ...nav, cardShown })
    await page.waitForLoadState('load')
    firstPageJs = bodies.reduce((sum, { body }) => sum + gzipped(body), 0)
    scripts = bodies.map(({ url: u, body }) => `${new URL(u).pathname} ${kb(gzipped(body))}`)
    await context.close()
  }
} finally {
  await browser.close()
}

const median = (key) => timings.map((t) => t[key]).sort((a, b) => a - b)[Math.floor(timings.length / 2)]
console.log(`First page (${url}/marketplace), median of ${RUNS} cold loads`)
console.log(`  time to first byte     ${median('ttfb').toFixed(0)} ms`)
console.log(`  DOMContentLoaded       ${median('dcl').toFixed(0)} ms`)
console.log(`  load                   ${median('load').toFixed(0)} ms`)
console.log(`  first module on screen ${median('cardShown').toFixed(0)} ms`)
console.log(`  JavaScript fetched     ${kb(firstPageJs)} gzip (budget ${kb(BUDGET)})`)
for (const line of scripts) console.log(`    ${line}`)
if (firstPageJs > BUDGET) {
  console.error(`over budget: the first page needs ${kb(firstPageJs)} of JavaScript (gzip)`)
  process.exit(1)
}
