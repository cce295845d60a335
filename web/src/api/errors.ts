// Failures of API calls, put in words for people. The API answers every failure as
// {"error": CODE, "detail": text or a list of problems} (README, "API conventions").

export interface Problem {
  loc?: (string | number)[]
  msg?: string
  type?: string
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: unknown,
  ) {
    super(describeBody(status, code, detail))
    this.name = 'ApiError'
  }
}

/** The API could not be reached at all (network down, server stopped). */
export class ApiUnreachable extends Error {
  constructor() {
    super(
      'The marketplace cannot be reached right now. Check your connection and try again in a moment.',
    )
    this.name = 'ApiUnreachable'
  }
}

const WORDS: Record<string, string> = {
  workflow_service_unavailable:
    'The service that runs orders, payments and publishing is unavailable right now. Nothing was changed; please try again in a moment.',
  unavailable: 'This part of the marketplace is unavailable right now. Please try again shortly.',
  web_app_not_built: 'The storefront is not built on this server.',
  rate_limited: 'Too many attempts. Please wait a little and try again.',
  unauthenticated: 'Please sign in to continue.',
  forbidden: 'Your account may not do this.',
  not_found: 'This could not be found.',
}

function field(problem: Problem): string {
  const path = (problem.loc ?? []).filter((part) => !['body', 'query', 'path'].includes(String(part)))
  return path.length ? `${path.join('.')}: ` : ''
}

function describeBody(status: number, code: string, detail: unknown): string {
  if (Array.isArray(detail)) {
    const lines = (detail as Problem[]).map((p) => `${field(p)}${p.msg ?? 'not accepted'}`)
    return lines.length ? lines.join('; ') : 'The request was not accepted.'
  }
  if (typeof detail === 'string' && detail) {
    const sentence = detail.charAt(0).toUpperCase() + detail.slice(1)
    return WORDS[code] && status >= 500 ? `${WORDS[code]} (${detail})` : sentence
  }
  return WORDS[code] ?? `The marketplace answered with an error (${status}).`
}

/** An API answer that is not 2xx, as an ApiError. */
export function errorFromBody(status: number, body: unknown): ApiError {
  if (body && typeof body === 'object' && 'error' in body) {
    const { error, detail } = body as { error: unknown; detail?: unknown }
    return new ApiError(status, String(error), detail)
  }
  return new ApiError(status, status >= 500 ? 'unavailable' : 'error', null)
}

/** Words for any failure a page may show. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError || error instanceof ApiUnreachable) return error.message
  return 'Something went wrong. Please try again.'
}

/** Whether the failure means the server (or a service behind it) is down, not the request. */
export function isUnavailable(error: unknown): boolean {
  return error instanceof ApiUnreachable || (error instanceof ApiError && error.status >= 502)
}
