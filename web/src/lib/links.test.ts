import { describe, expect, it } from 'vitest'
import { safeWebLink } from './links'

describe('safeWebLink', () => {
  it('keeps absolute http(s) links', () => {
    expect(safeWebLink(' https://acme.example/docs ')).toBe('https://acme.example/docs')
    expect(safeWebLink('http://acme.example')).toBe('http://acme.example/')
  })

  it('drops script, data and relative links, and nothing', () => {
    for (const bad of [
      'javascript:alert(1)',
      ' JaVaScRiPt:alert(1)',
      'java\tscript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:x',
      '//evil.example',
      '/relative',
      'not a url',
      '',
      null,
      undefined,
    ]) {
      expect(safeWebLink(bad), String(bad)).toBeNull()
    }
  })
})
