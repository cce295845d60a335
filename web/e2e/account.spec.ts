import { expect, expectAccessible, screenshots, test } from './fixtures'

test('a visitor registers, is signed in, signs out and signs in again', async ({ page }) => {
  const email = `buyer-${Date.now()}@example.com`
  const password = 'a long enough password'
  await page.goto('/marketplace?category=payments')
  await page.getByRole('link', { name: 'Create account' }).click()
  await expect(page.getByRole('heading', { name: 'Create an account' })).toBeVisible()
  await expectAccessible(page)
  await screenshots(page, 'register')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Create account' }).click()

  const menu = page.getByRole('button', { name: email })
  await expect(menu).toBeVisible()
  await expect(page).toHaveURL(/\/marketplace\?category=payments$/)
  // The token is never in the URL or a cookie.
  expect(page.url()).not.toContain('token')
  expect(await page.context().cookies()).toEqual([])

  await page.reload()
  await expect(menu).toBeVisible()
  await menu.click()
  await page.getByRole('link', { name: 'Sign out' }).click()
  await expect(page.getByRole('heading', { name: 'Signed out' })).toBeVisible()
  await expect(page.getByRole('link', { name: 'Sign in' })).toBeVisible()

  await page.getByRole('link', { name: 'Sign in' }).click()
  await expectAccessible(page)
  await screenshots(page, 'signin')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByRole('button', { name: email })).toBeVisible()
})

test('a wrong password is refused in words', async ({ page, expectFailure }) => {
  expectFailure(/\/api\/v1\/auth\/token/)
  expectFailure(/status of 401/)
  await page.goto('/signin')
  await page.getByLabel('Email').fill('nobody@example.com')
  await page.getByLabel('Password').fill('not the password')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByRole('alert')).toBeVisible()
  await expect(page).toHaveURL(/\/signin$/)
})

test('an ended session sends the user to sign in and back where they were', async ({ page, demo, expectFailure }) => {
  expectFailure(/\/api\/v1\//) // every call with the ended token is answered 401
  expectFailure(/status of 401/)
  await page.addInitScript(() => {
    if (!sessionStorage.getItem('seeded')) {
      sessionStorage.setItem('seeded', '1')
      sessionStorage.setItem(
        'marketplace.session',
        JSON.stringify({ accessToken: 'ended.session.token', expiresAt: '2999-01-01T00:00:00Z' }),
      )
    }
  })
  await page.goto('/marketplace?category=payments')
  await expect(page).toHaveURL(/\/signin\?/)
  const asked = new URL(page.url()).searchParams
  expect(asked.get('next')).toBe('/marketplace?category=payments')
  expect(asked.get('expired')).toBe('1')
  await expect(page.getByText('Your session ended')).toBeVisible()
  await page.getByLabel('Email').fill(demo.publishers.acme!)
  await page.getByLabel('Password').fill(demo.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page).toHaveURL(/\/marketplace\?category=payments$/)
  await expect(page.getByRole('button', { name: demo.publishers.acme! })).toBeVisible()
})
