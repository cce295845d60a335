import { expect, expectAccessible, screenshots, test } from './fixtures'

test('a visitor browses, filters by category, and the URL keeps the filter', async ({ page }) => {
  await page.goto('/')
  await expect(page).toHaveURL(/\/marketplace$/)
  await expect(page.getByRole('heading', { level: 1, name: 'Browse modules' })).toBeVisible()
  const featured = page.getByRole('region', { name: 'Featured' })
  await expect(featured.getByRole('link', { name: 'OAuth Login' })).toBeVisible()
  const results = page.getByRole('region', { name: /modules?$/ })
  await expect(results.getByRole('heading', { name: '18 modules' })).toBeVisible()
  await expectAccessible(page)
  await screenshots(page, 'marketplace-browse')

  const categories = page.getByRole('navigation', { name: 'Categories' })
  await categories.getByRole('link', { name: /^Payments/ }).click()
  await expect(page).toHaveURL(/\?category=payments$/)
  await expect(page.getByRole('heading', { level: 1, name: 'Modules in Payments' })).toBeVisible()
  await expect(results.getByRole('heading', { name: '2 modules' })).toBeVisible()
  await expect(results.getByRole('article')).toHaveCount(2)
  await expect(results.getByText('19.00 USD', { exact: true })).toBeVisible()
  await expect(page.getByRole('region', { name: 'Featured' })).toHaveCount(0)

  // A parent category includes its subcategories.
  await categories.getByRole('link', { name: /^Authentication/ }).click()
  await expect(page).toHaveURL(/\?category=authentication$/)
  await expect(results.getByRole('heading', { name: '3 modules' })).toBeVisible()
  await expect(results.getByRole('link', { name: 'SAML SSO' })).toBeVisible()
  await expectAccessible(page)
  await screenshots(page, 'marketplace-browse-category')

  await page.goBack()
  await expect(page).toHaveURL(/\?category=payments$/)
  await expect(page.getByRole('heading', { level: 1, name: 'Modules in Payments' })).toBeVisible()
  await expect(results.getByRole('heading', { name: '2 modules' })).toBeVisible()
  await page.goBack()
  await expect(page).toHaveURL(/\/marketplace$/)
  await expect(results.getByRole('heading', { name: '18 modules' })).toBeVisible()

  // A shared link opens the same view.
  await page.goto('/marketplace?category=authentication&license_type=paid')
  await expect(page.getByLabel('License')).toHaveValue('paid')
  await expect(results.getByRole('heading', { name: '1 module' })).toBeVisible()
  await expect(results.getByRole('link', { name: 'SAML SSO' })).toBeVisible()
})

test('filters, sorts and pages are in the URL and work from the keyboard', async ({ page }) => {
  await page.goto('/marketplace')
  const results = page.getByRole('region', { name: /modules?$/ })
  await expect(results.getByRole('heading', { name: '18 modules' })).toBeVisible()

  await page.getByLabel('Verified publishers only').check()
  await expect(page).toHaveURL(/verified_publisher=true/)
  await expect(results.getByRole('heading', { name: '10 modules' })).toBeVisible()
  await page.getByLabel('Verified publishers only').uncheck()
  await expect(results.getByRole('heading', { name: '18 modules' })).toBeVisible()

  await page.getByLabel('Sort by').selectOption('price_desc')
  await expect(page).toHaveURL(/sort=price_desc/)
  await expect(results.getByRole('article').first()).toContainText('SAML SSO')

  await page.getByLabel('From').fill('10')
  await page.getByLabel('From').press('Enter')
  await expect(page).toHaveURL(/min_price=10/)
  await expect(results.getByRole('heading', { name: '3 modules' })).toBeVisible()
  await page.getByLabel('From').fill('')
  await page.getByLabel('From').press('Enter')
  await expect(results.getByRole('heading', { name: '18 modules' })).toBeVisible()

  const next = page.getByRole('navigation', { name: 'Pages' }).getByRole('button', { name: 'Next' })
  await next.focus()
  await page.keyboard.press('Enter')
  await expect(page).toHaveURL(/page=2/)
  await expect(page.getByText('Page 2 of 2')).toBeVisible()
  await expect(results.getByRole('article')).toHaveCount(6)
  await page.goBack()
  await expect(page.getByText('Page 1 of 2')).toBeVisible()
})

test('an unknown page shows the 404 page', async ({ page }) => {
  await page.goto('/marketplace/no/such/page')
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible()
  await expectAccessible(page)
  await screenshots(page, 'not-found')
})

test('an unreachable API is said in words, and trying again recovers', async ({ page, expectFailure }) => {
  expectFailure(/\/api\/v1\/marketplace\/modules/)
  expectFailure(/ERR_FAILED|Failed to load resource/)
  let down = true
  await page.route('**/api/v1/marketplace/modules?**', (route) => (down ? route.abort() : route.continue()))
  await page.goto('/marketplace')
  const alert = page.getByRole('alert')
  await expect(alert).toContainText('The marketplace is unavailable right now.')
  await expect(alert).toContainText('cannot be reached')
  await screenshots(page, 'marketplace-unavailable')
  down = false
  await alert.getByRole('button', { name: 'Try again' }).click()
  await expect(page.getByRole('heading', { name: '18 modules' })).toBeVisible()
})

test('an invalid filter value shows the API\'s reason in words', async ({ page, expectFailure }) => {
  expectFailure(/\/api\/v1\/marketplace\/modules/)
  expectFailure(/status of 422/)
  await page.goto('/marketplace?fastvue_version=not-a-version')
  await expect(page.getByRole('alert')).toContainText('fastvue_version')
})

test('the first page needs at most 200 kB of JavaScript (gzip), its pages loaded lazily', async ({ page }) => {
  const { gzipSync } = await import('node:zlib')
  const scripts: { path: string; size: Promise<number> }[] = []
  page.on('response', (response) => {
    if (response.request().resourceType() === 'script') {
      scripts.push({
        path: new URL(response.url()).pathname,
        size: response.body().then((body) => gzipSync(body).length),
      })
    }
  })
  await page.goto('/marketplace')
  await expect(page.getByRole('article').first()).toBeVisible()
  await page.waitForLoadState('load')
  const total = (await Promise.all(scripts.map((script) => script.size))).reduce((a, b) => a + b, 0)
  expect(total).toBeLessThanOrEqual(200 * 1024)
  const paths = scripts.map((script) => script.path)
  expect(paths.some((path) => /\/assets\/BrowseView-[\w-]+\.js$/.test(path))).toBe(true)
  expect(paths.some((path) => /SignInView|RegisterView/.test(path)), 'other pages load when visited').toBe(false)
})
