// The discovery pages and the module page: search with highlights and facets, the module
// page (versions, signature and the verify command, ratings, reviews), category and
// publisher pages; a buyer's review; stored script payloads shown inert.
import type { Page } from '@playwright/test'
import { expect, expectAccessible, screenshots, test, type Demo } from './fixtures'

interface PagesDemo extends Demo {
  buyer: string
  hostile: { module: string; text: string }
  signed: { module: string; version: string; sha256: string }
}

// A 1×1 PNG: the seeded screenshots are on an HTTPS host the tests answer themselves.
const PIXEL = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
)
async function serveScreenshots(page: Page): Promise<void> {
  await page.route('https://screens.example/**', (route) =>
    route.fulfill({ status: 200, contentType: 'image/png', body: PIXEL }),
  )
}

/** A stored script must never run: any dialog fails the test. */
function failOnDialog(page: Page): string[] {
  const dialogs: string[] = []
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message())
    void dialog.dismiss()
  })
  return dialogs
}

/** Sign in from the sign-in page and come back to `next` (no page left with calls under way). */
async function signIn(page: Page, email: string, password: string, next: string): Promise<void> {
  await page.goto(`/signin?next=${encodeURIComponent(next)}`)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByRole('button', { name: email })).toBeVisible()
}

test('a visitor searches, sees the matches marked, narrows by facets; an empty search suggests', async ({
  page,
}) => {
  await page.goto('/marketplace')
  await page.getByLabel('Search modules').fill('demo')
  await page.getByLabel('Search modules').press('Enter')
  await expect(page).toHaveURL(/\/marketplace\/search\?q=demo$/)
  await expect(page.getByRole('heading', { level: 1, name: 'Search results for “demo”' })).toBeVisible()
  const hits = page.getByTestId('hits')
  await expect(page.getByRole('heading', { name: '18 modules found' })).toBeVisible()
  await expect(hits.locator('mark').first()).toHaveText(/^demo$/i)
  const facets = page.getByRole('complementary', { name: 'Narrow the results' })
  await expect(facets.getByRole('link', { name: 'Data & Charts (13)' })).toBeVisible()
  await expect(facets.getByRole('link', { name: 'Payments (2)' })).toBeVisible()
  await expectAccessible(page)
  await screenshots(page, 'marketplace-search')

  await facets.getByRole('link', { name: 'Payments (2)' }).click()
  await expect(page).toHaveURL(/category=payments/)
  await expect(page.getByRole('heading', { name: '2 modules found' })).toBeVisible()
  await expect(hits.getByRole('listitem')).toHaveCount(2)
  await facets.getByRole('link', { name: 'Paid (1)' }).click()
  await expect(page).toHaveURL(/license_type=paid/)
  await expect(page.getByRole('heading', { name: '1 module found' })).toBeVisible()
  await expect(hits.getByRole('link', { name: 'Invoice PDF' })).toBeVisible()
  await facets.getByRole('link', { name: /Payments \(chosen; remove\)/ }).click()
  await expect(page).toHaveURL(/\/marketplace\/search\?q=demo&license_type=paid$/)
  await expect(page.getByRole('heading', { name: '2 modules found' })).toBeVisible()

  // Nothing found: the suggestion leads to results.
  await page.goto('/marketplace/search?q=invoise')
  const none = page.getByTestId('no-results')
  await expect(none).toContainText('No module matches “invoise”')
  await expect(none.getByRole('link', { name: 'Data & Charts' })).toBeVisible()
  await expectAccessible(page)
  await screenshots(page, 'marketplace-search-empty')
  await none.getByRole('link', { name: 'invoice' }).click()
  await expect(page).toHaveURL(/q=invoice$/)
  await expect(hits.getByRole('link', { name: 'Invoice PDF' })).toBeVisible()

})

test('a visitor opens a module page from a search: versions, signature, ratings, reviews', async ({
  page,
  demo,
  expectFailure,
}) => {
  const seeded = demo as PagesDemo
  // Chromium reports the file's request as aborted when it turns into a download.
  expectFailure(/\/api\/v1\/marketplace\/files\/modules\/chart-kit\/chart_kit-1\.1\.0\.zip\?/)
  await serveScreenshots(page)
  await page.goto('/marketplace/search')
  await expect(page.getByRole('heading', { level: 1, name: 'Search modules' })).toBeVisible()
  const hits = page.getByTestId('hits')
  await page.getByLabel('Search modules').fill('chart kit')
  await page.getByLabel('Search modules').press('Enter')
  await expect(hits.getByRole('link', { name: 'Chart Kit' }).locator('mark').first()).toHaveText(/chart/i)
  await hits.getByRole('link', { name: 'Chart Kit' }).click()
  await expect(page).toHaveURL(/\/marketplace\/m\/chart-kit$/)
  await expect(page.getByRole('heading', { level: 1, name: 'Chart Kit' })).toBeVisible()
  await expect(page.getByText('FastVue 2.0 to 3.0').first()).toBeVisible()

  const versions = page.getByTestId('versions')
  await expect(versions.getByRole('heading', { name: /^1\.1\.0/ })).toContainText('latest')
  await expect(versions.getByRole('heading', { name: /^1\.0\.0/ })).toBeVisible()
  await expect(versions.getByText('Pie charts are here.')).toBeVisible()

  const verify = page.getByTestId('verify')
  await expect(verify.getByTestId('sha256')).toHaveText(seeded.signed.sha256)
  await expect(verify.getByTestId('statement')).toContainText(`sha256: ${seeded.signed.sha256}`)
  await expect(verify.getByText('fastvue-module-signature/v2', { exact: true })).toBeVisible()
  const command = 'marketplace verify chart_kit-1.1.0.zip --module chart-kit --version 1.1.0'
  await expect(verify.getByTestId('verify-command')).toHaveText(command)
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'])
  await verify.getByRole('button', { name: 'Copy command' }).click()
  await expect(verify.getByText('Copied')).toBeVisible()
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(command)

  const gallery = page.getByRole('region', { name: 'Screenshots' })
  await expect(gallery.getByRole('img', { name: 'Line charts' })).toBeVisible()
  await gallery.getByRole('button', { name: 'Next screenshot' }).click()
  await expect(gallery.getByRole('img', { name: 'Bar charts' })).toBeVisible()
  await expect(gallery.getByRole('button', { name: 'Show screenshot 2: Bar charts' })).toHaveAttribute(
    'aria-pressed',
    'true',
  )

  const reviews = page.getByRole('region', { name: 'Ratings and reviews' })
  await expect(reviews.getByTestId('rating-summary')).toContainText('3.67 out of 5')
  for (const [stars, count] of [['5', '1'], ['4', '1'], ['3', '0'], ['2', '1'], ['1', '0']]) {
    await expect(reviews.getByTestId(`stars-${stars}`)).toHaveText(count)
  }
  await expect(reviews.getByText('Exactly what we needed')).toBeVisible()
  const answered = reviews.getByRole('listitem').filter({ hasText: 'Missing radar charts' })
  await expect(answered.getByText('Reply from the publisher')).toBeVisible()
  await expect(answered.getByText('Radar charts are planned for 1.2.')).toBeVisible()
  await expect(reviews.getByRole('link', { name: 'Sign in to write a review' })).toBeVisible()
  await expectAccessible(page)
  await screenshots(page, 'marketplace-module')

  // A free download follows the link the API gives.
  const download = page.waitForEvent('download')
  await page.getByRole('button', { name: 'Download free' }).click()
  expect((await download).suggestedFilename()).toBe('chart_kit-1.1.0.zip')

})

test('category pages list their modules and subcategories; a publisher page its profile', async ({ page }) => {
  await serveScreenshots(page)
  await page.goto('/marketplace/m/chart-kit')
  await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Data & Charts' }).click()
  await expect(page).toHaveURL(/\/marketplace\/c\/data-charts$/)
  await expect(page.getByRole('heading', { level: 1, name: 'Modules in Data & Charts' })).toBeVisible()
  await expect(page.getByRole('heading', { name: '13 modules' })).toBeVisible()
  await page.getByRole('navigation', { name: 'Categories' }).getByRole('link', { name: /^Authentication/ }).click()
  await expect(page).toHaveURL(/\/marketplace\/c\/authentication$/)
  const subcategories = page.getByRole('navigation', { name: 'Subcategories' })
  await expect(subcategories.getByRole('link', { name: 'Single sign-on' })).toBeVisible()
  await expect(page.getByRole('heading', { name: '3 modules' })).toBeVisible()
  await page.getByLabel('License').selectOption('paid')
  await expect(page).toHaveURL(/\/marketplace\/c\/authentication\?license_type=paid$/)
  await expect(page.getByRole('heading', { name: '1 module' })).toBeVisible()
  await expectAccessible(page)
  await screenshots(page, 'marketplace-category')
  await subcategories.getByRole('link', { name: 'Single sign-on' }).click()
  await expect(page).toHaveURL(/\/marketplace\/c\/single-sign-on$/)
  await expect(page.getByRole('heading', { level: 1, name: 'Modules in Single sign-on' })).toBeVisible()
  await page.getByRole('link', { name: 'SAML SSO' }).click()
  await page.getByRole('link', { name: 'Acme Modules' }).first().click()
  await expect(page).toHaveURL(/\/marketplace\/p\/acme$/)
  await expect(page.getByRole('heading', { level: 1, name: /Acme Modules/ })).toBeVisible()
  await expect(page.getByTestId('verified')).toBeVisible()
  await expect(page.getByTestId('bio')).toContainText('We build modules for FastVue teams.')
  await expect(page.getByTestId('bio').getByRole('link', { name: 'Our blog' })).toHaveAttribute(
    'rel',
    'noopener nofollow ugc',
  )
  await expect(page.getByTestId('website')).toHaveAttribute('href', 'https://acme.example/')
  await expect(page.getByTestId('website')).toHaveAttribute('rel', 'noopener nofollow ugc')
  await expect(page.getByTestId('publisher-modules').getByRole('article')).toHaveCount(10)
  await expectAccessible(page)
  await screenshots(page, 'marketplace-publisher')
})

test('a buyer who owns a module writes a review that appears on its page', async ({ page, demo }) => {
  const seeded = demo as PagesDemo
  await signIn(page, seeded.buyer, seeded.password, '/marketplace/m/saml-sso')
  await expect(page).toHaveURL(/\/marketplace\/m\/saml-sso$/)
  const owned = page.getByTestId('owned')
  await expect(owned).toContainText('You own this')
  await expect(owned.getByRole('link', { name: 'See your license' })).toHaveAttribute('href', '/account/licenses')
  await expect(page.getByRole('button', { name: 'Add to cart' })).toHaveCount(0)

  const form = page.getByRole('form', { name: 'Write a review' })
  await form.getByLabel('5 stars').check()
  await form.getByLabel('Title').fill('Works with our IdP')
  await form.getByLabel('Your review').fill('Set up in *ten* minutes.')
  await expectAccessible(page)
  await screenshots(page, 'marketplace-module-review-form')
  await form.getByRole('button', { name: 'Publish review' }).click()

  await expect(page.getByText('Thank you: your review is published.')).toBeVisible()
  await expect(form).toHaveCount(0)
  const mine = page.getByTestId('reviews').getByRole('listitem').filter({ hasText: 'Works with our IdP' })
  await expect(mine).toContainText('Bea Buyer')
  await expect(mine).toContainText('verified purchase')
  await expect(mine.locator('em')).toHaveText('ten')
  await expect(page.getByTestId('stars-5')).toHaveText('1')
  await expect(page.getByText('★ 5.00 (1)')).toBeVisible() // the page's rating was read again

  await page.reload()
  await expect(page.getByTestId('reviews')).toContainText('Works with our IdP')
  await expect(page.getByText('You have reviewed this module.')).toBeVisible()
})

test('a signed-in visitor votes a review helpful and reports another', async ({ page }) => {
  await serveScreenshots(page)
  const email = `voter-${Date.now()}@example.com`
  await page.goto('/register?next=/marketplace/m/chart-kit')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill('a long enough password')
  await page.getByRole('button', { name: 'Create account' }).click()
  await expect(page).toHaveURL(/^[^?]*\/marketplace\/m\/chart-kit$/)
  const solid = page.getByTestId('reviews').getByRole('listitem').filter({ hasText: 'Solid' })
  await solid.getByRole('button', { name: /^Yes/ }).click()
  await expect(solid.getByRole('button', { name: /^Yes/ })).toHaveAttribute('aria-pressed', 'true')
  await expect(solid.getByRole('button', { name: /^Yes/ })).toHaveText(/\(1\)/)
  const radar = page.getByTestId('reviews').getByRole('listitem').filter({ hasText: 'Missing radar charts' })
  await radar.getByRole('button', { name: 'Report' }).click()
  await radar.getByLabel('Why report it?').selectOption('off_topic')
  await expectAccessible(page)
  await screenshots(page, 'marketplace-module-report')
  await radar.getByRole('button', { name: 'Send report' }).click()
  await expect(radar.getByText('Reported: the moderators will look at it.')).toBeVisible()
})

test('script payloads stored in a description, a review and a bio render inert', async ({ page, demo }) => {
  const seeded = demo as PagesDemo
  const dialogs = failOnDialog(page)
  const email = `hostile-${Date.now()}@example.com`
  await page.goto(`/register?next=/marketplace/m/${seeded.hostile.module}`)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill('a long enough password')
  await page.getByRole('button', { name: 'Create account' }).click()
  await expect(page).toHaveURL(new RegExp(`^[^?]*/marketplace/m/${seeded.hostile.module}$`))
  const here = page.url()

  await expect(page.getByRole('heading', { level: 1, name: 'Hostile Notes' })).toBeVisible()
  await expect(page.getByText("<script>alert('summary')</script> notes")).toBeVisible()
  const description = page.getByTestId('description')
  await expect(description).toContainText('Safe words before.')
  await expect(description).toContainText('Safe words after.')
  await expect(description.locator('script, [onerror], [href^="javascript:" i]')).toHaveCount(0)
  await description.getByText('a javascript link').click()
  await description.getByText('a raw link').click()
  expect(page.url()).toBe(here)

  const reviews = page.getByTestId('reviews')
  await expect(reviews.getByText(seeded.hostile.text, { exact: true })).toBeVisible()
  await expect(reviews.locator('script, [onerror], [href^="javascript:" i]')).toHaveCount(0)

  // The same payloads written through the page.
  const form = page.getByRole('form', { name: 'Write a review' })
  await form.getByLabel('1 star').check()
  await form.getByLabel('Title').fill("<script>alert('mine')</script>")
  await form
    .getByLabel('Your review')
    .fill("Mine. <img src=x onerror=\"alert('mine')\"> [go](javascript:alert('mine')) <svg onload=alert(1)>")
  await form.getByRole('button', { name: 'Publish review' }).click()
  const mine = reviews.getByRole('listitem').filter({ hasText: "<script>alert('mine')</script>" })
  await expect(mine).toContainText('Mine.')
  await expect(page.locator('main script, [onerror], [onload], a[href^="javascript:" i]')).toHaveCount(0)
  await mine.getByText('go', { exact: true }).click()
  expect(page.url()).toBe(here)
  await expectAccessible(page)
  await screenshots(page, 'marketplace-module-hostile')

  // The publisher's bio and a javascript: website.
  await page.getByRole('link', { name: 'Indie Dev' }).first().click()
  await expect(page.getByTestId('bio')).toContainText('Safe words after.')
  await expect(page.locator('script:not([src]), [onerror], a[href^="javascript:" i]')).toHaveCount(0)
  await expect(page.getByTestId('website')).toHaveCount(0)
  await expect(page.getByTestId('verified')).toHaveCount(0)
  await page.getByTestId('bio').getByText('a raw link').click()
  await expect(page).toHaveURL(/\/marketplace\/p\/indie-dev$/)
  expect(dialogs).toEqual([])
})
