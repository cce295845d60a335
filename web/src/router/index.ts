// Routes: every area of the app contributes its own list from views/<area>/routes.ts
// (collected below), each page loaded lazily so a page's code is fetched when it is
// visited. To add a page, add a route to the area's routes.ts (README, "Adding a page").
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'

const areas = import.meta.glob<{ routes: RouteRecordRaw[] }>('../views/*/routes.ts', {
  eager: true,
})

export const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/marketplace' },
  ...Object.values(areas).flatMap((area) => area.routes),
  {
    path: '/:missing(.*)*',
    name: 'not-found',
    component: () => import('../views/NotFoundView.vue'),
    meta: { title: 'Page not found' },
  },
]

declare module 'vue-router' {
  interface RouteMeta {
    /** The document title while the page is shown. */
    title?: string
    /** Only for a signed-in user: others are sent to sign in, then back. */
    requiresAuth?: boolean
  }
}

export function makeRouter(history = createWebHistory()) {
  const router = createRouter({
    history,
    routes,
    scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
  })
  router.afterEach((to) => {
    document.title = to.meta.title ? `${to.meta.title} · FastVue Marketplace` : 'FastVue Marketplace'
  })
  return router
}

/** Where sign-in sends the user back to: a path of this app only, never another origin. */
export function safeNext(next: unknown): string {
  const value = Array.isArray(next) ? next[0] : next
  if (typeof value !== 'string' || !/^\/(?![/\\])/.test(value)) {
    return '/marketplace'
  }
  if (/^\/(signin|register|signout)(?![\w-])/.test(value)) return '/marketplace'
  return value
}
