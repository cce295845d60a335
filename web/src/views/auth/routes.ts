import type { RouteRecordRaw } from 'vue-router'

export const routes: RouteRecordRaw[] = [
  {
    path: '/signin',
    name: 'signin',
    component: () => import('./SignInView.vue'),
    meta: { title: 'Sign in' },
  },
  {
    path: '/register',
    name: 'register',
    component: () => import('./RegisterView.vue'),
    meta: { title: 'Create an account' },
  },
  {
    path: '/signout',
    name: 'signout',
    component: () => import('./SignOutView.vue'),
    meta: { title: 'Signed out' },
  },
]
