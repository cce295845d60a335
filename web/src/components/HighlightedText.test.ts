import { describe, expect, it } from 'vitest'
import { createApp, h } from 'vue'
import HighlightedText from './HighlightedText.vue'

function render(segments: { text: string; match: boolean }[]): HTMLElement {
  const root = document.createElement('p')
  createApp({ render: () => h(HighlightedText, { segments }) }).mount(root)
  return root
}

describe('HighlightedText', () => {
  it('marks the matched segments and keeps the text whole', () => {
    const out = render([
      { text: 'Sign in with ', match: false },
      { text: 'OAuth', match: true },
      { text: ' and ', match: false },
      { text: 'oauth2', match: true },
    ])
    expect(out.textContent).toBe('Sign in with OAuth and oauth2')
    expect([...out.querySelectorAll('mark')].map((mark) => mark.textContent)).toEqual([
      'OAuth',
      'oauth2',
    ])
  })

  it('shows markup in the data as text, never as elements', () => {
    const hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    const out = render([
      { text: hostile, match: false },
      { text: '<b>bold</b>', match: true },
    ])
    expect(out.querySelector('img, script, b')).toBeNull()
    expect(out.textContent).toBe(`${hostile}<b>bold</b>`)
    expect(out.querySelector('mark')?.textContent).toBe('<b>bold</b>')
  })

  it('renders nothing for no segments', () => {
    expect(render([]).textContent).toBe('')
  })
})
