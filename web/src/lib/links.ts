// Links that users give (a publisher's website, social links) shown as <a href>: only
// absolute http(s) URLs survive, so a `javascript:` or `data:` one never becomes a link.

/** The URL when it is an absolute http(s) one, else null. */
export function safeWebLink(value: string | null | undefined): string | null {
  const text = value?.trim()
  if (!text) return null
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return null
  }
  return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null
}
