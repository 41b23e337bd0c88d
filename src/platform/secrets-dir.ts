import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where this instance's development secrets live: never beside the data they protect, so a copy of
 * the data dir (database files, backups) decrypts nothing. `PAYRAIL_SECRETS_DIR` chooses it; by
 * default it is a per-data-dir folder under the user's config dir (`~/.config/payrail/<id>`).
 */
export function secretsDir(env: NodeJS.ProcessEnv, data_dir: string): string {
  if (env.PAYRAIL_SECRETS_DIR) return env.PAYRAIL_SECRETS_DIR;
  const config_home = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  const instance = createHash('sha256').update(data_dir).digest('hex').slice(0, 16);
  return join(config_home, 'payrail', instance);
}

/** A random secret kept in `dir/name` (owner-only), created on first use; hex-encoded. */
export function readOrCreateSecret(dir: string, name: string, bytes: number): string {
  const file = join(dir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(bytes).toString('hex');
  writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
  return secret;
}
