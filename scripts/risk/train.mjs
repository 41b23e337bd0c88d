// Trains the risk model: `npm run build && node scripts/risk/train.mjs [--version risk-model-v1] [--labels-from-db]`.
// Generates the seeded synthetic world (src/services/risk/training/synthetic.ts), replays it through the
// scorer's own feature code, fits logistic regression, writes the model file the server loads
// (src/services/risk/model/<version>.json) and the evaluation on a held-out world it never saw
// (docs/risk-model-evaluation.json). The same seeds give the same model, byte for byte.
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import * as prettier from 'prettier';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const training = await import(join(ROOT, 'dist/services/risk/training/index.js'));

const { values } = parseArgs({
  options: {
    version: { type: 'string', default: 'risk-model-v1' },
    'labels-from-db': { type: 'boolean', default: false },
    since: { type: 'string', default: '0' },
  },
});
if (!/^risk-model-v\d+$/.test(values.version)) throw new Error(`--version must look like risk-model-v2, got ${values.version}`);

let extra;
if (values['labels-from-db']) extra = await labelsFromDatabase(Number(values.since));

/** Charges labelled by fraud disputes (src/risk-labels.ts); reads every merchant, so the owner's or the system role's URL. */
async function labelsFromDatabase(since_s) {
  const url = process.env.PAYRAIL_SYSTEM_DATABASE_URL || process.env.DATABASE_URL;
  if (!url) throw new Error('--labels-from-db needs DATABASE_URL (or PAYRAIL_SYSTEM_DATABASE_URL)');
  if (!Number.isInteger(since_s) || since_s < 0) throw new Error('--since must be unix seconds');
  const { disputeLabelRows } = await import(join(ROOT, 'dist/risk-labels.js'));
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const { rows, charges, fraud } = await disputeLabelRows(pool, since_s);
    process.stdout.write(`labels from the database: ${charges} charges, ${fraud} disputed as fraudulent\n`);
    return rows;
  } finally {
    await pool.end();
  }
}

const started = Date.now();
const model = await training.trainModel({ world: training.TRAINING_WORLD, model_version: values.version, extra });
const evaluation = await training.evaluateModel(model, training.HELD_OUT_WORLD);
const model_path = join(ROOT, 'src/services/risk/model', `${values.version}.json`);
/** As Prettier writes JSON (the repository's format check covers src/), so a retrain changes only what changed. */
async function writeJson(path, value) {
  const options = (await prettier.resolveConfig(path)) ?? {};
  await writeFile(path, await prettier.format(JSON.stringify(value), { ...options, filepath: path }));
}
await writeJson(model_path, model);
await writeJson(join(ROOT, 'docs/risk-model-evaluation.json'), evaluation);

const pct = (x) => `${(100 * x).toFixed(1)} %`;
process.stdout.write(
  [
    `model ${model.model_version} → ${model_path} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    `fitted on ${model.training.fitted_rows} rows (${model.training.fitted_fraud_rows} fraud; ${model.training.dispute_label_rows} from disputes)`,
    `thresholds: elevated p ≥ ${model.thresholds.elevated_probability}, highest p ≥ ${model.thresholds.highest_probability}`,
    `held-out: ${evaluation.rows} rows, ${evaluation.fraud_rows} fraud, ROC AUC ${evaluation.roc_auc.toFixed(4)}`,
    `  elevated (score ≥ 65): precision ${pct(evaluation.elevated.precision)}, recall ${pct(evaluation.elevated.recall)}, honest flagged ${pct(evaluation.elevated.false_positive_rate)}`,
    `  highest  (score ≥ 75): precision ${pct(evaluation.highest.precision)}, recall ${pct(evaluation.highest.recall)}, honest flagged ${pct(evaluation.highest.false_positive_rate)}`,
    `  flagged by pattern: ${JSON.stringify(evaluation.flagged_by_pattern)}`,
  ].join('\n') + '\n',
);
