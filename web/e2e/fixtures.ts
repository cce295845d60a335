// What every browser test gets:
// - `page` on the `marketplace dev` of global-setup.ts (baseURL), failing the test on any
//   console error, uncaught page error or failed request (network failure or an HTTP
//   error answer) unless the test declared it with `expectFailure(pattern)`;
// - `demo`: the seeded catalogue (tests/web_seed.py);
// - helpers: `expectAccessible(page)` (axe-core: no serious or critical violation) and
//   `screenshots(page, name)` (PNGs at 1280 and 375 px under artifacts/screenshots/).
import AxeBuilder from '@axe-core/playwright'
import { test as base, expect, type Page } from '@playwright/test'
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ARTIFACTS = resolve(fileURLToPath(new URL('../../artifacts/screenshots', import.meta.url)))

export interface Demo {
  categories: string[]
  modules: string[]
  publishers: Record<string, string>
  password: string
}

interface Fixtures {
  demo: Demo
  /** Declare a failure the test provokes on purpose (URL or message pattern). */
  expectFailure: (pattern: RegExp) => void
  allowedFailures: RegExp[]
}

export const test = base.extend<Fixtures>({
  baseURL: async ({}, use) => {
    const url = process.env.MARKETPLACE_E2E_BASE
    if (!url) throw new Error('MARKETPLACE_E2E_BASE is unset: run through playwright.config.ts')
    await use(url)
  },
  demo: async ({}, use) => {
    await use(JSON.parse(process.env.MARKETPLACE_E2E_SEED ?? '{}') as Demo)
  },
  allowedFailures: async ({}, use) => {
    await use([])
  },
  expectFailure: async ({ allowedFailures }, use) => {
    await use((pattern) => allowedFailures.push(pattern))
  },
  page: async ({ page, allowedFailures }, use) => {
    const problems: string[] = []
    const allowed = (...texts: string[]) =>
      allowedFailures.some((pattern) => texts.some((text) => pattern.test(text)))
    page.on('console', (message) => {
      if (message.type() !== 'error') return
      const where = message.location().url
      if (!allowed(where, message.text())) problems.push(`console error: ${message.text()} (${where})`)
    })
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
    page.on('requestfailed', (request) => {
      if (!allowed(request.url())) {
        problems.push(`request failed: ${request.method()} ${request.url()} ${request.failure()?.errorText ?? ''}`)
      }
    })
    page.on('response', (response) => {
      if (response.status() >= 400 && !allowed(response.url())) {
        problems.push(`HTTP ${response.status()}: ${response.request().method()} ${response.url()}`)
      }
    })
    await use(page)
    expect(problems, 'no console error or failed request during the test').toEqual([])
  },
})

export { expect }

/** axe-core over the page as it is now: no serious or critical violation. */
export async function expectAccessible(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze()
  const bad = results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
  expect(bad, `accessibility violations on ${page.url()}`).toEqual([])
}

/** Full-page PNGs of the page at 1280 and 375 px wide: artifacts/screenshots/<name>-<w>.png. */
export async function screenshots(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true })
  const before = page.viewportSize()
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: 900 })
    await page.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`), fullPage: true })
  }
  if (before) await page.setViewportSize(before)
}
