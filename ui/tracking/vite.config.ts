import { defineConfig } from 'vite';

// Preact through esbuild's automatic JSX runtime: no framework plugin needed. `base: './'` keeps every
// asset URL relative, so the UI works when an ingress serves the tracking server under a path prefix.
export default defineConfig({
  root: __dirname,
  base: './',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // One small bundle: uPlot + Preact are ~70 kB; splitting would only add round trips behind an ingress.
    chunkSizeWarningLimit: 400,
  },
  server: {
    // `MLOPS_UI_PROXY=http://127.0.0.1:5000 npx vite ui/tracking` for front-end work against a running server.
    proxy: process.env.MLOPS_UI_PROXY
      ? Object.fromEntries(['/ajax-api', '/api', '/get-artifact'].map((p) => [p, process.env.MLOPS_UI_PROXY as string]))
      : undefined,
  },
});
