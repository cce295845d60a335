// The one way pages talk to the API: openapi-fetch typed by schema.d.ts (generated from the
// API's own OpenAPI document: `npm run gen:api`). `call` unwraps an answer or throws an
// ApiError / ApiUnreachable whose message a page can show as is.
import createClient, { type Middleware } from 'openapi-fetch'
import type { components, paths } from './schema'
import { accessToken } from './session-token'
import { ApiUnreachable, errorFromBody } from './errors'

export type Schemas = components['schemas']

let onUnauthenticated: (() => unknown) | null = null

/** What to do when a call made with a session is answered 401 (the session ended). */
export function whenUnauthenticated(handler: () => unknown): void {
  onUnauthenticated = handler
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = accessToken()
    if (token && !request.headers.has('Authorization')) {
      request.headers.set('Authorization', `Bearer ${token}`)
    }
    return request
  },
  onResponse({ request, response }) {
    if (response.status === 401 && request.headers.has('Authorization')) void onUnauthenticated?.()
    return response
  },
}

export const api = createClient<paths>({ baseUrl: '' })
api.use(auth)

interface Answer<T> {
  data?: T
  error?: unknown
  response: Response
}

/** Await an openapi-fetch call: its data, or a thrown error with words for people. */
export async function call<T>(request: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>
  try {
    answer = await request
  } catch {
    throw new ApiUnreachable()
  }
  if (!answer.response.ok) throw errorFromBody(answer.response.status, answer.error)
  return answer.data as T
}
