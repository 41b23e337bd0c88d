import type { Database } from '../platform/database.js';
import { verifyAuditLog } from '../services/audit/index.js';
import type { ChainAnchor } from '../services/audit/index.js';
import type { Command } from './command-line.js';
import { EXIT_OK, EXIT_PROBLEM, UsageError, command } from './command-line.js';

/** `payrail audit verify`: recomputes the security log's hash chain. */

type WithDatabase = <T>(work: (database: Database) => Promise<T>) => Promise<T>;

export function auditCommands(withDatabase: WithDatabase): Command[] {
  return [
    command({
      words: ['audit', 'verify'],
      args: [],
      options: {
        anchor: { type: 'string', value: 'SEQ:HASH', description: 'a head an earlier verify printed: the chain must still pass through it' },
      },
      summary: 'check the audit log for edited, deleted or reordered rows (exit 1 names them)',
      run: ({ anchor }) => {
        const expected = anchor === undefined ? undefined : parseAnchor(anchor);
        return withDatabase(async (database) => {
          const report = await verifyAuditLog(database.pool, expected);
          for (const finding of report.findings) process.stdout.write(`row ${finding.seq}: ${finding.problem}\n`);
          const verdict = report.findings.length === 0 ? 'intact' : `BROKEN (${report.findings.length} findings)`;
          // The head is what to keep elsewhere: `--anchor SEQ:HASH` later proves nothing up to it was rewritten.
          process.stdout.write(`audit log ${verdict}: ${report.rows} rows, head ${report.head.seq}:${report.head.hash}\n`);
          return report.findings.length === 0 ? EXIT_OK : EXIT_PROBLEM;
        });
      },
    }),
  ];
}

function parseAnchor(text: string): ChainAnchor {
  const match = /^(\d{1,18}):([0-9a-f]{64})$/.exec(text);
  if (!match) throw new UsageError('--anchor is SEQ:HASH as verify prints them (1042:3f9a…, 64 hex digits)');
  return { seq: match[1] ?? '', hash: match[2] ?? '' };
}
