import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'

// `npm run dev` serves the app with hot reload on :5173 and sends API calls to a running
// `marketplace dev` (MARKETPLACE_API, default http://127.0.0.1:8000).
const api = process.env.MARKETPLACE_API ?? 'http://127.0.0.1:8000'

export default defineConfig({
  plugins: [vue()],
  build: {
    // The API serves dist/assets as immutable (api/web_app.py): names carry a content hash.
    assetsDir: 'assets',
    sourcemap: false,
    // The CSP forbids inline scripts: no inlined module-preload polyfill.
    modulePreload: { polyfill: false },
  },
  server: { proxy: { '/api': api, '/health': api, '/ready': api } },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
  },
})
