import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

/** `npm run test:image`: the image build-and-run test alone (it needs podman; docs/deployment.md, "Docker"). */
export default defineConfig({
  root: resolve(import.meta.dirname, '../..'),
  test: {
    include: ['test/deploy/image.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 90_000,
  },
});
