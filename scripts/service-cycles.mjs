// Services may depend on each other only one way: this fails when the graph of services (each
// src/services/<name> folder as one node) has a cycle, which dependency-cruiser's file-level
// `no-circular` rule cannot see. Reads `depcruise --output-type json` on standard input.
import { readFileSync } from 'node:fs';

const SERVICE = /^src\/services\/([^/]+)\//;
const report = JSON.parse(readFileSync(0, 'utf8'));

const edges = new Map();
for (const module of report.modules) {
  const from = SERVICE.exec(module.source)?.[1];
  if (!from) continue;
  for (const dependency of module.dependencies) {
    const to = SERVICE.exec(dependency.resolved)?.[1];
    if (!to || to === from) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    if (!edges.get(from).has(to)) edges.get(from).set(to, `${module.source} → ${dependency.resolved}`);
  }
}

/** Depth-first search for a path back to `start`; answers the services on it. */
function cycleFrom(start) {
  const stack = [[start, [start]]];
  const seen = new Set();
  while (stack.length > 0) {
    const [node, path] = stack.pop();
    for (const next of edges.get(node)?.keys() ?? []) {
      if (next === start) return [...path, start];
      if (!seen.has(next)) {
        seen.add(next);
        stack.push([next, [...path, next]]);
      }
    }
  }
  return null;
}

const cycles = [...edges.keys()].map(cycleFrom).filter((cycle) => cycle !== null);
if (cycles.length === 0) {
  console.log(`✔ no cycles between services (${edges.size} services with dependencies)`);
} else {
  const cycle = cycles[0];
  console.error('✘ services depend on each other in a cycle:');
  for (let i = 0; i + 1 < cycle.length; i++) console.error(`  ${cycle[i]} → ${cycle[i + 1]}   (${edges.get(cycle[i]).get(cycle[i + 1])})`);
  process.exitCode = 1;
}
