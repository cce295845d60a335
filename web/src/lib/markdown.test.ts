import { describe, expect, it } from 'vitest'
import { createApp, h, nextTick } from 'vue'
import { LINK_REL, renderUserMarkdown } from './markdown'
import UserMarkdown from '../components/UserMarkdown.vue'

function dom(html: string): HTMLElement {
  const div = document.createElement('div')
  div.innerHTML = html
  return div
}

describe('renderUserMarkdown', () => {
  it('renders Markdown', () => {
    const out = dom(renderUserMarkdown('# Title\n\nSome **bold** and `code`.\n\n- one\n- two'))
    expect(out.querySelector('h1')?.textContent).toBe('Title')
    expect(out.querySelector('strong')?.textContent).toBe('bold')
    expect(out.querySelectorAll('li')).toHaveLength(2)
  })

  it('removes scripts, event handlers, frames, forms and styles', () => {
    const out = dom(
      renderUserMarkdown(
        'Hi <script>alert(1)</script><img src="https://x.test/a.png" onerror="alert(2)">' +
          '<iframe src="https://evil.test"></iframe><form action="/x"><input name="a"></form>' +
          '<style>body{display:none}</style><svg onload="alert(3)"></svg>' +
          '<a href="#" onclick="alert(4)" style="color:red">x</a>',
      ),
    )
    expect(out.querySelector('script, iframe, form, input, style, svg, img')).toBeNull()
    for (const element of out.querySelectorAll('*')) {
      for (const attribute of element.attributes) expect(attribute.name).not.toMatch(/^on|^style$/i)
    }
    // Raw HTML is shown as the text it is.
    expect(out.textContent).toContain('<script>alert(1)</script>')
    expect(out.textContent).toContain('<a href="#" onclick="alert(4)" style="color:red">')
  })

  it('shows block-level raw HTML as text too', () => {
    const out = dom(renderUserMarkdown('<div onclick="alert(1)">\nblock\n</div>\n\nafter'))
    expect(out.querySelector('div')).toBeNull()
    expect(out.querySelector('p')?.textContent).toBe('<div onclick="alert(1)">\nblock\n</div>')
    expect(out.textContent).toContain('after')
  })

  it('keeps https images written in Markdown', () => {
    const out = dom(renderUserMarkdown('![chart](https://x.test/a.png "A chart")'))
    expect(out.querySelector('img')?.getAttribute('src')).toBe('https://x.test/a.png')
    expect(out.querySelector('img')?.getAttribute('alt')).toBe('chart')
  })

  it.each([
    '[click](javascript:alert(1))',
    '[click](JaVaScRiPt:alert(1))',
    '[click](  javascript:alert(1))',
    '[click](java&#115;cript:alert(1))',
    '[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
    '[click](vbscript:msgbox(1))',
    '<a href="javascript:alert(1)">click</a>',
    '<a href="  javascript:alert(1)">click</a>',
    '<a href="java\tscript:alert(1)">click</a>',
    '[click](//evil.test/path)',
  ])('a dangerous or off-site-relative link never survives: %s', (source) => {
    const out = dom(renderUserMarkdown(source))
    for (const link of out.querySelectorAll('a')) {
      const href = link.getAttribute('href')
      expect(href === null || /^(https?:|mailto:|\/[^/]|#)/i.test(href)).toBe(true)
    }
    // No attribute carries a script or data URL (raw HTML is shown as text).
    for (const element of out.querySelectorAll('*')) {
      for (const attribute of element.attributes) {
        expect(attribute.value).not.toMatch(/javascript:|vbscript:|data:text/i)
      }
    }
  })

  it('keeps web links and marks them as user content', () => {
    const out = dom(renderUserMarkdown('[docs](https://fastvue.dev/docs) and <https://x.test>'))
    const links = [...out.querySelectorAll('a')]
    expect(links.map((a) => a.getAttribute('href'))).toEqual([
      'https://fastvue.dev/docs',
      'https://x.test',
    ])
    for (const link of links) expect(link.getAttribute('rel')).toBe(LINK_REL)
    expect(LINK_REL).toBe('noopener nofollow ugc')
  })

  it('drops images that are not https (tracking over plain http, data URIs)', () => {
    const out = dom(renderUserMarkdown('![a](http://x.test/a.png) ![b](data:image/png;base64,AAAA)'))
    for (const image of out.querySelectorAll('img')) expect(image.getAttribute('src')).toBeNull()
  })

  it('renders nothing for empty text', () => {
    expect(renderUserMarkdown(null)).toBe('')
    expect(renderUserMarkdown('')).toBe('')
  })
})

describe('UserMarkdown component', () => {
  it('shows the sanitized text in the page', async () => {
    const root = document.createElement('div')
    document.body.append(root)
    const app = createApp({
      render: () => h(UserMarkdown, { text: 'Safe **text** <img src=x onerror="window.hacked=1">' }),
    })
    app.mount(root)
    await nextTick()
    expect(root.querySelector('strong')?.textContent).toBe('text')
    expect(root.querySelector('img, [onerror]')).toBeNull()
    expect(root.textContent).toContain('<img src=x onerror="window.hacked=1">')
    expect((window as unknown as { hacked?: number }).hacked).toBeUndefined()
    app.unmount()
  })
})
