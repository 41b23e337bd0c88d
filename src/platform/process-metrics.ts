import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';

/**
 * prom-client's default process metrics (event-loop lag, CPU, memory, heap, handles, file descriptors),
 * all but the GC-duration histogram: its `gc` PerformanceObserver cost 5 to 7% more CPU per confirmed
 * payment in the payments benchmark, the rest cost nothing measurable. prom-client has no switch for
 * one default metric, so its collectors are loaded one by one; the tests check their metrics exist.
 */
const DEFAULT_COLLECTORS = [
  'processCpuTotal',
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'eventLoopLag',
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
  ...(typeof process.getActiveResourcesInfo === 'function' ? ['processResources'] : []),
];
const EVENT_LOOP_PRECISION_MS = 10;

/** Registers the process metrics in `registry`; call once per registry. */
export function registerProcessMetrics(registry: Registry): void {
  const load = createRequire(import.meta.url);
  for (const name of DEFAULT_COLLECTORS) {
    const collector = load(`prom-client/lib/metrics/${name}`) as (registry: Registry, config: object) => void;
    collector(registry, { eventLoopMonitoringPrecision: EVENT_LOOP_PRECISION_MS });
  }
}
