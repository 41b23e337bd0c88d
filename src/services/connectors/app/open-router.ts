/**
 * The router as the platform opens it: over the merchants' connector accounts (`directory`, or the
 * built-in sandbox alone), with health measured in this process and tries recorded in `pool`, which
 * must commit synchronously (a try is durable before the processor hears of it).
 */
import type { Clock } from '../../../kernel/clock.js';
import type { Pool } from '../../../platform/db.js';
import type { Connector } from '../domain/port.js';
import type { FaultPlan } from '../adapters/faults.js';
import { FaultyConnector } from '../adapters/faults.js';
import { RoutedTries } from '../adapters/routed-tries.js';
import type { BreakerLimits } from './health.js';
import { ConnectorHealth, DEFAULT_BREAKER_LIMITS } from './health.js';
import type { ConnectorDirectory } from './router.js';
import { RoutingConnector, builtInOnly } from './router.js';
import type { HealthLimits } from '../domain/health.js';
import { DEFAULT_HEALTH_LIMITS } from '../domain/health.js';

export interface RouterSettings {
  pool: Pool;
  /** Where answers to tries are recorded: may commit asynchronously (an inquiry finds a lost one again). */
  answer_pool?: Pool | undefined;
  clock: Clock;
  /** The built-in sandbox (with its injected faults, if any): merchants without accounts route there. */
  sandbox: Connector;
  /** The merchants' accounts and rules (accountsDirectory); absent: every merchant routes to the built-in sandbox. */
  directory?: ConnectorDirectory | undefined;
  health_limits?: HealthLimits;
  breaker_limits?: BreakerLimits;
}

export function openRouter(settings: RouterSettings): RoutingConnector {
  return new RoutingConnector({
    directory: settings.directory ?? builtInOnly(settings.sandbox),
    health: new ConnectorHealth(settings.clock, settings.health_limits ?? DEFAULT_HEALTH_LIMITS, settings.breaker_limits ?? DEFAULT_BREAKER_LIMITS),
    tries: new RoutedTries(settings.pool, settings.answer_pool ?? settings.pool),
    clock: settings.clock,
  });
}

/** The built-in sandbox with PAYRAIL_SANDBOX_FAULTS applied, or as it is when none are asked for. */
export function withFaults(sandbox: Connector, plan: FaultPlan | null): Connector {
  return plan ? new FaultyConnector(sandbox, plan) : sandbox;
}
