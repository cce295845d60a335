import type { RouteRecordRaw } from 'vue-router'

export const routes: RouteRecordRaw[] = [
  {
    path: '/marketplace',
    name: 'browse',
    component: () => import('./BrowseView.vue'),
    meta: { title: 'Browse modules' },
  },
  {
    path: '/marketplace/search',
    name: 'search',
    component: () => import('./SearchView.vue'),
    meta: { title: 'Search' },
  },
  {
    path: '/marketplace/m/:slug',
    name: 'module',
    component: () => import('./ModuleView.vue'),
    meta: { title: 'Module' },
  },
  {
    path: '/marketplace/c/:slug',
    name: 'category',
    component: () => import('./CategoryView.vue'),
    meta: { title: 'Category' },
  },
  {
    path: '/marketplace/p/:slug',
    name: 'publisher',
    component: () => import('./PublisherView.vue'),
    meta: { title: 'Publisher' },
  },
]
