/**
 * The roles one Payrail process can run (`payrail start --service NAME`, or PAYRAIL_SERVICE). `all`,
 * the default, runs every role in one process, as `npm start` always has. See docs/architecture.md#roles.
 */
export const ROLE_NAMES = ['all', 'api', 'vault', 'risk', 'ledger', 'webhooks', 'relay', 'scheduler'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

export function isRoleName(name: string): name is RoleName {
  return (ROLE_NAMES as readonly string[]).includes(name);
}

/**
 * The role this process runs: PAYRAIL_SERVICE, else `api` when PAYRAIL_CONSUMERS=off (the API without
 * background consumers, its older spelling), else `all`. An unknown name stops the start.
 */
export function roleFromEnv(env: NodeJS.ProcessEnv): RoleName {
  const named = env.PAYRAIL_SERVICE;
  if (named) {
    if (!isRoleName(named)) throw new Error(`PAYRAIL_SERVICE (or --service) must be one of ${ROLE_NAMES.join(', ')}; got "${named}"`);
    return named;
  }
  if (env.PAYRAIL_CONSUMERS === 'off') return 'api';
  return 'all';
}

/** The application_name of this role's database connections (pg_stat_activity): `payrail` for `all`, as before. */
export function connectionName(role: RoleName): string {
  return role === 'all' ? 'payrail' : `payrail-${role}`;
}
