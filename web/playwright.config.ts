// Browser tests: Debian's Chromium (/usr/bin/chromium; `make test` installs the `chromium`
// package when it is missing; never `npx playwright install`) against one real
// `marketplace dev` for the whole run, started by e2e/global-setup.ts on free ports with its
// own data directory and the demo catalogue (tests/web_seed.py).
import { defineConfig } from '@playwright/test'

export default defineConfig({
  testDir: './e2e',
  globalSetup: './e2e/global-setup.ts',
  globalTeardown: './e2e/global-teardown.ts',
  // One server, two cores shared: tests run one after the other, and must not depend on
  // each other's data (each makes its own accounts).
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  outputDir: '../artifacts/playwright',
  use: {
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env.MARKETPLACE_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox'],
    },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
})
