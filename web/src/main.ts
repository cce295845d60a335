import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { makeRouter, safeNext } from './router'
import { whenUnauthenticated } from './api/client'
import { useSession } from './stores/session'
import './styles.css'

const app = createApp(App)
const pinia = createPinia()
const router = makeRouter()
app.use(pinia).use(router)

const session = useSession(pinia)

// A call made with a session answered 401: the session ended (expired, signed out
// elsewhere, password changed). Sign in again and come back here.
whenUnauthenticated(async () => {
  session.signOut()
  await router.isReady()
  const here = router.currentRoute.value
  if (here.name !== 'signin') {
    void router.push({ name: 'signin', query: { next: safeNext(here.fullPath), expired: '1' } })
  }
})

router.beforeEach((to) => {
  if (to.meta.requiresAuth && !session.signedIn) {
    return { name: 'signin', query: { next: safeNext(to.fullPath) } }
  }
  return true
})

if (session.signedIn) void session.refresh().catch(() => undefined)
app.mount('#app')
