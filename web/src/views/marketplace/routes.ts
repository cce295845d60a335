import type { RouteRecordRaw } from 'vue-router'

export const routes: RouteRecordRaw[] = [
  {
    path: '/marketplace',
    name: 'browse',
    component: () => import('./BrowseView.vue'),
    meta: { title: 'Browse modules' },
  },
]
