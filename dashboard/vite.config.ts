import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The dashboard is served by Payrail itself under /dashboard (src/services/dashboard/static.ts), so
// its assets are built for that base and land beside the server's own build in dist/dashboard.
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/dashboard/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/dashboard', import.meta.url)),
    emptyOutDir: true,
    // Charts pull in recharts; the warning threshold is for apps that ship to anonymous visitors.
    chunkSizeWarningLimit: 1500,
  },
  server: { proxy: { '/dashboard/api': 'http://127.0.0.1:4242' } },
});
