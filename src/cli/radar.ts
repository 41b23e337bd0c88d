import type { Database } from '../platform/database.js';
import { systemClock } from '../kernel/clock.js';
import { PayrailError } from '../kernel/errors.js';
import { UlidGenerator } from '../kernel/ids.js';
import type { Actor } from '../services/audit/index.js';
import type { RadarRuleView, RuleChange } from '../services/risk/index.js';
import { addRule, listMerchantRules, moveRule, removeRule, setRuleEnabled, updateRule } from '../services/risk/index.js';
import { merchantExists } from '../services/merchants/index.js';
import type { Command } from './command-line.js';
import { EXIT_OK, EXIT_PROBLEM, UsageError, command } from './command-line.js';

/** `payrail radar rules list|add|update|move|enable|disable|delete`: a merchant's Radar rules, from the operator's shell. */

const OPERATOR: Actor = { type: 'cli' };
const MERCHANT_ID = /^acct_\w{1,64}$/;

type WithDatabase = <T>(work: (database: Database) => Promise<T>) => Promise<T>;

const merchantOption = { merchant: { type: 'string', value: 'ACCT', description: 'the merchant whose rules these are (required)' } } as const;

function merchantOf(values: { merchant?: string | undefined }): string {
  if (!values.merchant) throw new UsageError('--merchant is required');
  if (!MERCHANT_ID.test(values.merchant)) throw new UsageError('--merchant is acct_ followed by letters and digits');
  return values.merchant;
}

function describe(rule: RadarRuleView): string {
  return `${rule.id}  ${rule.enabled ? 'enabled ' : 'disabled'}  ${rule.rule}${rule.default ? '  (default)' : ''}`;
}

function change(): RuleChange {
  return { now_ms: systemClock.now_ms(), actor: OPERATOR };
}

type RulesAnswer = Promise<RadarRuleView | RadarRuleView[] | { id: string; deleted: true }>;

/** A refused change (bad rule text, no such rule or merchant) is one plain line, exit 1. */
async function reporting(work: () => RulesAnswer): Promise<number> {
  try {
    const result = await work();
    const lines = Array.isArray(result) ? result.map(describe) : ['rule' in result ? describe(result) : `${result.id}  deleted`];
    process.stdout.write(`${lines.join('\n')}\n`);
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof PayrailError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return EXIT_PROBLEM;
  }
}

export function radarCommands(withDatabase: WithDatabase): Command[] {
  const store = (database: Database) => ({ pool: database.pool, ids: new UlidGenerator() });
  /** Runs `work` on the merchant's rules once the merchant is known to exist: a typo in --merchant stores nothing. */
  const forMerchant = (merchant_id: string, work: (database: Database) => RulesAnswer) =>
    withDatabase((database) =>
      reporting(async () => {
        if (!(await merchantExists(database.pool, merchant_id))) throw new PayrailError('resource_missing', { message: `No such merchant: '${merchant_id}'` });
        return work(database);
      }),
    );
  return [
    command({
      words: ['radar', 'rules', 'list'],
      args: [],
      options: merchantOption,
      summary: "a merchant's Radar rules, in the order they were added, the default rule included",
      run: (values) => {
        const merchant_id = merchantOf(values);
        return forMerchant(merchant_id, (database) => listMerchantRules(store(database), merchant_id));
      },
    }),
    command({
      words: ['radar', 'rules', 'add'],
      args: ['RULE'],
      options: merchantOption,
      summary: 'add a rule in Radar\'s syntax: "Block if :risk_score: > 75"',
      run: (values, [text = '']) => {
        const merchant_id = merchantOf(values);
        return forMerchant(merchant_id, (database) => addRule(store(database), merchant_id, text, change()));
      },
    }),
    command({
      words: ['radar', 'rules', 'update'],
      args: ['RULE_ID', 'RULE'],
      options: merchantOption,
      summary: "replace a rule's text; it keeps its id and its place",
      run: (values, [rule_id = '', text = '']) => {
        const merchant_id = merchantOf(values);
        return forMerchant(merchant_id, (database) => updateRule(store(database), merchant_id, rule_id, text, change()));
      },
    }),
    command({
      words: ['radar', 'rules', 'move'],
      args: ['RULE_ID', 'POSITION'],
      options: merchantOption,
      summary: "put a rule at POSITION (1 = first) in the merchant's order, which decides between rules of one action",
      run: (values, [rule_id = '', position = '']) => {
        const merchant_id = merchantOf(values);
        if (!/^[1-9]\d{0,3}$/.test(position)) throw new UsageError('POSITION is a whole number from 1');
        return forMerchant(merchant_id, (database) => moveRule(store(database), merchant_id, rule_id, Number(position), change()));
      },
    }),
    ...(['enable', 'disable'] as const).map((word) =>
      command({
        words: ['radar', 'rules', word],
        args: ['RULE_ID'],
        options: merchantOption,
        summary: word === 'enable' ? 'evaluate a disabled rule again' : 'stop evaluating a rule (the default rule too) without deleting it',
        run: (values, [rule_id = '']) => {
          const merchant_id = merchantOf(values);
          return forMerchant(merchant_id, (database) => setRuleEnabled(store(database), merchant_id, rule_id, word === 'enable', change()));
        },
      }),
    ),
    command({
      words: ['radar', 'rules', 'delete'],
      args: ['RULE_ID'],
      options: merchantOption,
      summary: 'delete a rule (the default rule can only be disabled)',
      run: (values, [rule_id = '']) => {
        const merchant_id = merchantOf(values);
        return forMerchant(merchant_id, (database) => removeRule(store(database), merchant_id, rule_id, change()));
      },
    }),
  ];
}
