import { describe, expect, it } from 'vitest'
import { shellWord, verifyCommand } from './verify'

describe('verifyCommand', () => {
  it('is the README command for the module and version', () => {
    expect(verifyCommand('oauth-login', 'oauth_login', '1.2.0')).toBe(
      'marketplace verify oauth_login-1.2.0.zip --module oauth-login --version 1.2.0',
    )
    expect(verifyCommand('x', 'x', '2.0.0-rc.1+build.5')).toBe(
      'marketplace verify x-2.0.0-rc.1+build.5.zip --module x --version 2.0.0-rc.1+build.5',
    )
  })

  it('quotes anything a shell would read as more than a word', () => {
    expect(shellWord("a b;rm -rf ~'$(x)")).toBe(`'a b;rm -rf ~'\\''$(x)'`)
    expect(shellWord('plain-1.0')).toBe('plain-1.0')
  })
})
