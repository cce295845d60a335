// Who is signed in. The access token itself lives in api/session-token.ts (memory +
// sessionStorage); this store holds the account as /auth/me describes it.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api, call, type Schemas } from '../api/client'
import { clearSession, loadSession, saveSession } from '../api/session-token'

export const useSession = defineStore('session', () => {
  const me = ref<Schemas['MeOut'] | null>(null)
  const hasToken = ref(loadSession() !== null)
  const signedIn = computed(() => hasToken.value)

  async function refresh(): Promise<void> {
    if (!loadSession()) {
      me.value = null
      hasToken.value = false
      return
    }
    me.value = await call(api.GET('/api/v1/auth/me'))
  }

  async function signIn(email: string, password: string): Promise<void> {
    const token = await call(
      api.POST('/api/v1/auth/token', {
        body: { username: email, password, scope: '' },
        bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      }),
    )
    saveSession({ accessToken: token.access_token, expiresAt: token.expires_at })
    hasToken.value = true
    await refresh()
  }

  async function register(email: string, password: string, fullName: string | null): Promise<void> {
    await call(
      api.POST('/api/v1/auth/register', {
        body: { email, password, full_name: fullName || null },
      }),
    )
    await signIn(email, password)
  }

  /** Forget the session here (the API keeps no server-side session to end). */
  function signOut(): void {
    clearSession()
    me.value = null
    hasToken.value = false
  }

  return { me, signedIn, refresh, signIn, register, signOut }
})
