// Built into dist/ with every URL under /ui/ (where the gateway's admin listener serves it);
// embed.mjs then turns dist/ into one C++ source. `npm run dev` proxies the API to a local
// gateway admin listener (or to dev-server.mjs): TOLLGATE_ADMIN=http://127.0.0.1:8081.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const admin = process.env.TOLLGATE_ADMIN || 'http://127.0.0.1:8081';

export default defineConfig({
  base: '/ui/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      '/admin': admin,
      '/v1': admin,
    },
  },
});
