// The signed-in session's access token: in memory, and in sessionStorage so a reload of
// the tab keeps it (closing the tab ends it). Never in a URL, a cookie or localStorage.
const KEY = 'marketplace.session'

export interface StoredSession {
  accessToken: string
  expiresAt: string
}

let current: StoredSession | null = null

function expired(session: StoredSession): boolean {
  return Date.parse(session.expiresAt) <= Date.now()
}

export function loadSession(): StoredSession | null {
  if (current) return expired(current) ? null : current
  try {
    const raw = sessionStorage.getItem(KEY)
    if (!raw) return null
    const parsed = JSON.parse(raw) as StoredSession
    if (typeof parsed.accessToken !== 'string' || expired(parsed)) {
      sessionStorage.removeItem(KEY)
      return null
    }
    current = parsed
    return current
  } catch {
    return null
  }
}

export function saveSession(session: StoredSession): void {
  current = session
  try {
    sessionStorage.setItem(KEY, JSON.stringify(session))
  } catch {
    // storage refused (private mode quota): the session lives in memory only
  }
}

export function clearSession(): void {
  current = null
  try {
    sessionStorage.removeItem(KEY)
  } catch {
    // nothing stored
  }
}

export function accessToken(): string | null {
  return loadSession()?.accessToken ?? null
}
