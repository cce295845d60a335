// User text (module descriptions, release notes, reviews, publisher bios) is Markdown
// written by strangers. It is rendered by `marked` (raw HTML in it shown as text), then
// everything that could run, load a frame, submit a form or restyle the page is removed by
// DOMPurify with an allow-list.
// Links keep only http(s), mailto and in-site targets and get rel="noopener nofollow ugc".
import DOMPurify from 'dompurify'
import { Marked } from 'marked'

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

// Raw HTML in the Markdown is shown as the text it is, never parsed: the sanitizer below
// then only sees the markup `marked` writes. (Parsing a stranger's `<img onerror=…>`, even
// in DOMPurify's inert document, makes Chromium report a CSP violation for the handler.)
const markdown = new Marked({
  gfm: true,
  breaks: false,
  async: false,
  renderer: {
    html: ({ text, block }) => (block ? `<p>${escapeHtml(text.trim())}</p>` : escapeHtml(text)),
  },
})

const ALLOWED_TAGS = [
  'p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'strong', 'b', 'em', 'i', 'del', 's',
  'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'img', 'table', 'thead', 'tbody',
  'tr', 'th', 'td', 'sup', 'sub',
]
const ALLOWED_ATTR = ['href', 'title', 'alt', 'src', 'start', 'align']
const SAFE_LINK = /^(?:https?:|mailto:|\/(?!\/)|#)/i
const SAFE_IMAGE = /^https:/i
export const LINK_REL = 'noopener nofollow ugc'

let purifier: ReturnType<typeof DOMPurify> | null = null

function sanitizer(): ReturnType<typeof DOMPurify> {
  if (purifier) return purifier
  // An instance of our own: its hooks apply to user text only.
  const instance = DOMPurify(window)
  instance.addHook('afterSanitizeAttributes', (node) => {
    if (node.nodeName === 'A') {
      const href = (node.getAttribute('href') ?? '').trim()
      if (!SAFE_LINK.test(href)) node.removeAttribute('href')
      node.setAttribute('rel', LINK_REL)
    }
    if (node.nodeName === 'IMG') {
      const src = (node.getAttribute('src') ?? '').trim()
      if (!SAFE_IMAGE.test(src)) node.removeAttribute('src')
      node.setAttribute('loading', 'lazy')
      node.setAttribute('referrerpolicy', 'no-referrer')
    }
  })
  purifier = instance
  return instance
}

/** HTML that is safe to put in the page, from a stranger's Markdown. */
export function renderUserMarkdown(text: string | null | undefined): string {
  if (!text) return ''
  const html = markdown.parse(text) as string
  return sanitizer().sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    KEEP_CONTENT: true,
    RETURN_TRUSTED_TYPE: false,
  }) as string
}
