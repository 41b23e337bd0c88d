import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { metrics } from '../../src/platform/metrics.js';

/**
 * The alert rules under deploy/prometheus: promtool's own unit tests (rules.test.yml) and config check
 * when promtool is on PATH — required in CI (CI=true), left out with a notice elsewhere — and, always,
 * that every metric the rules read is one Payrail exports and every alert has a runbook entry.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIR = join(ROOT, 'deploy', 'prometheus');
const RULES = readFileSync(join(DIR, 'rules.yml'), 'utf8');

function promtoolAvailable(): boolean {
  const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  return probe.error === undefined && probe.status === 0;
}

function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

const available = promtoolAvailable();
const in_ci = process.env.CI === 'true';
const SKIP_REASON = 'promtool is not on PATH (apt-get install prometheus); CI installs it and runs these checks';

describe('prometheus rules', () => {
  // Declared only where it can run, so no skipped test is reported: CI (CI=true) requires promtool,
  // and .ci/run installs it; elsewhere a missing promtool is said on stderr.
  if (available || in_ci) {
    it('promtool: the rule unit tests pass and the example config is valid', () => {
      if (!available) throw new Error(`CI=true but ${SKIP_REASON}: .ci/run must install it`);
      const tests = promtool('test', 'rules', 'deploy/prometheus/rules.test.yml');
      expect(tests.output).toContain('SUCCESS');
      expect(tests.status, tests.output).toBe(0);
      const config = promtool('check', 'config', 'deploy/prometheus/prometheus.yml');
      expect(config.status, config.output).toBe(0);
    });
  } else {
    process.stderr.write(`observability-rules: not running the promtool checks: ${SKIP_REASON}\n`);
  }

  it('reads only metrics that Payrail exports (or Prometheus itself)', () => {
    const exported = new Set(metrics.registry.getMetricsAsArray().map((metric) => metric.name));
    const used = new Set([...RULES.matchAll(/\b(payrail_[a-z_]+)/g)].map((match) => (match[1] as string).replace(/_(bucket|count|sum)$/, '')));
    expect(used.size).toBeGreaterThan(5);
    for (const name of used) expect(exported.has(name), name).toBe(true);
  });

  it('every alert has its runbook in docs/operations.md', () => {
    const operations = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    const alerts = [...RULES.matchAll(/- alert: (\w+)/g)].map((match) => match[1] as string);
    expect(alerts.length).toBeGreaterThanOrEqual(5);
    for (const alert of alerts) {
      expect(operations, alert).toMatch(new RegExp(`^#+ ${alert}$`, 'm'));
      expect(RULES, alert).toContain(`runbook: docs/operations.md#${alert.toLowerCase()}`);
    }
  });
});
