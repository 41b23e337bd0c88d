import { mtlsAgent } from '../../../platform/http/mtls.js';
import type { MtlsCredentials } from '../../../platform/http/mtls.js';
import { postJson } from '../../../platform/http/mtls-client.js';
import type { RiskScorer } from '../app/scorer.js';
import type { AttemptResult, RiskScore, RiskSignals } from '../domain/signals.js';
import { RISK_PATH_PREFIX, riskScoreSchema } from './remote-contract.js';

/**
 * The scorer of a risk process, over mutual TLS: what an API process started with PAYRAIL_RISK_URL
 * uses instead of scoring in process. One try per call, limited in time, because a confirm waits on
 * it: a failed or late score makes payments put the payment in review (its existing policy when
 * scoring fails), and a failed record is logged by payments and never fails a payment.
 */
export interface RemoteRiskSettings {
  url: string;
  tls: MtlsCredentials;
  /** A call's limit, connecting included. */
  timeout_ms?: number | undefined;
  max_sockets?: number | undefined;
}

const DEFAULT_TIMEOUT_MS = 500;
const DEFAULT_MAX_SOCKETS = 32;
const MAX_ANSWER_BYTES = 65_536;

export function remoteRiskScorer(settings: RemoteRiskSettings): RiskScorer {
  const agent = mtlsAgent(settings.tls, settings.max_sockets ?? DEFAULT_MAX_SOCKETS);
  const timeout_ms = settings.timeout_ms ?? DEFAULT_TIMEOUT_MS;
  const call = async (operation: 'score' | 'record', body: unknown): Promise<unknown> => {
    const answer = await postJson(agent, new URL(`${RISK_PATH_PREFIX}${operation}`, settings.url), JSON.stringify(body), timeout_ms, MAX_ANSWER_BYTES);
    if (answer.status === 200) return answer.body;
    const code = (answer.body as { error?: { code?: string } } | null)?.error?.code ?? '';
    // A refusal means this process and the risk process disagree on the contract: a bug, logged by payments.
    throw new Error(`the risk service refused ${operation}: ${answer.status} ${code}`);
  };
  return {
    async score(signals: RiskSignals): Promise<RiskScore> {
      const parsed = riskScoreSchema.safeParse(await call('score', signals));
      if (!parsed.success) throw new Error('the risk service answered score in an unexpected shape');
      return parsed.data;
    },
    async record(signals: RiskSignals, result: AttemptResult): Promise<void> {
      await call('record', { signals, result });
    },
    close: async () => agent.destroy(),
  };
}
