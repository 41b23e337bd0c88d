import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * The CLI's command line (node:util parseArgs): help for every command, and plain usage errors with
 * exit code 2 that never reach the database. No DATABASE_URL is set, so a command that tried to open
 * the database would start an embedded PostgreSQL and blow the time limit.
 */
const CLI_TIMEOUT_MS = 10_000;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<CliRun> {
  const { DATABASE_URL: _unused, ...env } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, ['dist/cli.js', ...args], { env, timeout: CLI_TIMEOUT_MS }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

const COMMANDS = [
  'start',
  'migrate',
  'merchants create',
  'ledger verify',
  'events resend',
  'events failed',
  'events attempts',
  'api-keys create',
  'api-keys roll',
  'api-keys revoke',
  'api-keys list',
  'audit verify',
  'radar rules list',
  'radar rules add',
  'radar rules update',
  'radar rules move',
  'radar rules enable',
  'radar rules disable',
  'radar rules delete',
  'simulator adyen',
];

describe('payrail --help', () => {
  it('lists every command on stdout', async () => {
    const run = await cli('--help');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    for (const command of COMMANDS) expect(run.stdout).toContain(`\n  ${command}`);
  });

  it.each(COMMANDS)('%s --help shows that command alone, with its options', async (command) => {
    const run = await cli(...command.split(' '), '--help');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(new RegExp(`^Usage: payrail ${command}\\b`));
    expect(run.stdout).toContain('-h, --help');
  });

  it('shows the options a command takes', async () => {
    expect((await cli('events', 'failed', '-h')).stdout).toMatch(/--limit N +list at most N deliveries[\s\S]*--retrying +also list/);
    expect((await cli('events', '--help')).stdout).toMatch(/^Usage: payrail events <command>[\s\S]*events resend EVENT_ID \[--endpoint ID\]/);
    expect((await cli('radar', 'rules', '--help')).stdout).toMatch(/^Usage: payrail radar rules <command>[\s\S]*radar rules add RULE \[--merchant ACCT\]/);
  });
});

describe('a wrong command line', () => {
  it('names an unknown option plainly and exits 2', async () => {
    const run = await cli('merchants', 'create', '--nmae', 'Shop');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      "payrail merchants create: Unknown option '--nmae'\nUsage: payrail merchants create [--name N]\nRun 'payrail merchants create --help' for details.\n",
    );
  });

  it.each([
    [['events', 'resend'], 'payrail events resend: missing EVENT_ID'],
    [['events', 'attempts', 'evt_1', 'evt_2'], "payrail events attempts: unexpected argument 'evt_2'"],
    [['merchants', 'create', '--name'], "payrail merchants create: Option '--name <value>' argument missing"],
    [['events', 'failed', '--limit', '0'], 'payrail events failed: --limit must be 1 to 1000'],
    [['ledger', 'verify', '--fix'], "payrail ledger verify: Unknown option '--fix'"],
    [['events'], 'payrail events: missing command'],
    [['simulator', 'adyen', '--port', 'x'], 'payrail simulator adyen: --port must be 0 to 65535'],
    [['events', 'replay'], "payrail events: unknown command 'replay'"],
    [['refund'], "payrail: unknown command 'refund'"],
    [['api-keys', 'create'], 'payrail api-keys create: --merchant is required'],
    [['api-keys', 'create', '--merchant', 'acct_1', '--type', 'admin'], 'payrail api-keys create: --type is secret, restricted or publishable'],
    [
      ['api-keys', 'create', '--merchant', 'acct_1', '--type', 'restricted', '--permissions', 'charges=delete'],
      "payrail api-keys create: 'charges' needs =read or =write",
    ],
    [['api-keys', 'create', '--merchant', 'acct_1', '--permissions', 'charges=read'], 'payrail api-keys create: --permissions is for --type restricted'],
    [['api-keys', 'roll', 'key_1', '--expires-in', '8d'], 'payrail api-keys roll: --expires-in is now or a duration up to 7d, such as 30m, 12h or 3d'],
    [['api-keys', 'revoke'], 'payrail api-keys revoke: missing KEY_ID'],
    [['audit', 'verify', '--anchor', 'latest'], 'payrail audit verify: --anchor is SEQ:HASH as verify prints them (1042:3f9a…, 64 hex digits)'],
  ])('%j exits 2: %s', async (args, message) => {
    const run = await cli(...args);
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toBe(message);
    expect(run.stderr).not.toMatch(/"error"|invalid_request_error|at .*\.js:\d+/);
  });
});
