import { loadConfig } from '../platform/config.js';
import type { Database } from '../platform/database.js';
import { createLogger } from '../platform/logger.js';
import { errorBody, toPayrailError } from '../platform/http/errors.js';
import { parseParams } from '../platform/http/params.js';
import { execute } from '../platform/write/pipeline.js';
import { systemClock } from '../kernel/clock.js';
import { UlidGenerator } from '../kernel/ids.js';
import { REFUND_COMMAND } from '../services/payments/index.js';
import { openPaymentServices } from '../payment-services.js';
import { EXIT_OK, EXIT_PROBLEM } from './command-line.js';

/**
 * POST /v1/refunds from the command line: the same schema, the same write pipeline and, with a key,
 * the same idempotency record as the API (a key used here replays there, and the other way round).
 * Prints the refund, or Stripe's error object on stderr with exit code 1.
 */
export async function runRefundCommand(database: Database, merchant_id: string, params: Record<string, string>, key: string | undefined): Promise<number> {
  const config = loadConfig();
  const clock = systemClock;
  const logger = createLogger(config.log_level, process.stderr);
  const services = await openPaymentServices(config, database, { clock, ids: new UlidGenerator(clock), logger, public_url: () => config.public_url ?? '' });
  try {
    const request = {
      merchant_id,
      request_id: null,
      actor: { api_key_id: null, client_ip: null, operator: true },
      idempotency: key === undefined ? undefined : { key, method: REFUND_COMMAND.method, path: REFUND_COMMAND.path, params },
    };
    const result = await execute(
      services.write,
      request,
      { reserves: REFUND_COMMAND.reserves, run: (ctx, p) => REFUND_COMMAND.run(services.payments, ctx, p) },
      parseParams(REFUND_COMMAND.schema, params),
    );
    if (result.replayed) process.stderr.write(`Idempotency-Key ${key ?? ''} was used before: this is the stored answer.\n`);
    const body = `${JSON.stringify(JSON.parse(result.response.body), null, 2)}\n`;
    if (result.response.status === 200) process.stdout.write(body);
    else process.stderr.write(body);
    return result.response.status === 200 ? EXIT_OK : EXIT_PROBLEM;
  } catch (error) {
    const known = toPayrailError(error);
    if (!known) throw error;
    process.stderr.write(`${JSON.stringify(errorBody(known), null, 2)}\n`);
    return EXIT_PROBLEM;
  } finally {
    await services.close();
  }
}
