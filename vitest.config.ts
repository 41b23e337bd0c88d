import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Needs podman and root: its own script, `npm run test:image` (docs/deployment.md, "Docker").
    exclude: [...configDefaults.exclude, 'test/deploy/image.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 90_000,
  },
});
