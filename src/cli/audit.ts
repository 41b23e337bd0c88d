import type { Database } from '../platform/database.js';
import { verifyAuditLog } from '../services/audit/index.js';
import type { Command } from './command-line.js';
import { EXIT_OK, EXIT_PROBLEM, command } from './command-line.js';

/** `payrail audit verify`: recomputes the security log's hash chain. */

type WithDatabase = <T>(work: (database: Database) => Promise<T>) => Promise<T>;

export function auditCommands(withDatabase: WithDatabase): Command[] {
  return [
    command({
      words: ['audit', 'verify'],
      args: [],
      options: {},
      summary: 'check the audit log for edited, deleted or reordered rows (exit 1 names them)',
      run: () =>
        withDatabase(async (database) => {
          const report = await verifyAuditLog(database.pool);
          for (const finding of report.findings) process.stdout.write(`row ${finding.seq}: ${finding.problem}\n`);
          const verdict = report.findings.length === 0 ? 'intact' : `BROKEN (${report.findings.length} findings)`;
          // The head is what to keep elsewhere: a later verify that ends on the same seq and hash proves nothing before it changed.
          process.stdout.write(`audit log ${verdict}: ${report.rows} rows, head ${report.head.seq} ${report.head.hash}\n`);
          return report.findings.length === 0 ? EXIT_OK : EXIT_PROBLEM;
        }),
    }),
  ];
}
