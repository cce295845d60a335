import { describe, expect, it } from 'vitest'
import { safeNext } from './index'

describe('where sign-in sends the user back', () => {
  it.each(['/marketplace?category=payments', '/account/licenses', '/marketplace/m/a-b'])(
    'a path of this app: %s',
    (path) => expect(safeNext(path)).toBe(path),
  )
  it.each([
    'https://evil.test/',
    '//evil.test/x',
    '/\\evil.test',
    'javascript:alert(1)',
    '',
    undefined,
    '/signin?next=/x',
    '/signout',
    '/register',
  ])('never another origin, nor back to the sign-in pages: %s', (next) => {
    expect(safeNext(next)).toBe('/marketplace')
  })
})
