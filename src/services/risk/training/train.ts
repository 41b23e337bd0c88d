import { FEATURE_NAMES } from '../domain/features.js';
import { ELEVATED_SCORE, HIGHEST_SCORE, loadModel, type ModelFile } from '../domain/model.js';
import { fitLogistic, type LogisticFit } from './logistic.js';
import { atCut, lowestCutWithFalsePositiveRate, rocAuc, type CutMetrics } from './metrics.js';
import { replayFeatures, type FeatureRows } from './replay.js';
import { generateTransactions, type GeneratorOptions } from './synthetic.js';

/**
 * Training and evaluation of the risk model. Train: generate a world, replay it into features, fit on
 * the first three quarters of its days, choose the probabilities for `elevated` and `highest` on the
 * last quarter (the lowest that flag at most a set share of honest payments: a share of honest
 * customers a merchant can afford to review or turn away, steadier than a precision target, which moves
 * with the fraud rate), and write the model file. Evaluate: replay a
 * world the model never saw and measure it at the scores Radar's thresholds give.
 */
export const TRAINING_WORLD: GeneratorOptions = { seed: 1501, days: 24, merchants: 40, payments_per_day: 2000, start_ms: Date.UTC(2026, 8, 1) };
export const HELD_OUT_WORLD: GeneratorOptions = { seed: 2902, days: 12, merchants: 30, payments_per_day: 1500, start_ms: Date.UTC(2026, 10, 1) };
/** Days at the start of a world whose features are immature (empty windows), left out of fitting and scoring. */
const WARM_UP_DAYS = 3;
const DAY_MS = 86_400_000;
const L2 = 1;
const VALIDATION_SHARE = 0.25;
/** Honest payments scored `highest` (blocked by Stripe's default rule) on validation: at most this share. */
const HIGHEST_HONEST_SHARE = 0.002;
/** Honest payments scored `elevated` or above (reviewed by the default rule): at most this share. */
const ELEVATED_HONEST_SHARE = 0.01;
const DEFAULT_PROBABILITIES = { elevated_probability: 0.5, highest_probability: 0.8 };
/** Cut candidates from 0.001 to 0.999, log-spaced so small probabilities get fine steps (4 significant digits). */
const CANDIDATE_PROBABILITIES = Array.from({ length: 300 }, (_, k) => Number((0.001 * 999 ** (k / 299)).toPrecision(4)));

/**
 * Features that can only raise the risk: velocity, mismatches, failed checks, first sightings. A fit
 * that gives one a negative weight (an artefact of correlated features in the generator's stories,
 * and a gift to a fraudster who learns it) is refitted without it, until none is negative: out of the
 * generator's patterns, more attempts never lower a score.
 */
export const RISK_RAISING: ReadonlySet<string> = new Set<string>(
  FEATURE_NAMES.filter((name) => /^log_(charges|failed|ip_|emails|cards|small|declined)|mismatch|_fail$|^is_new|^cvc_|email_missing|unknown/.test(name)),
);

function fitMonotone(rows: readonly Float64Array[], labels: Uint8Array): LogisticFit & { dropped: string[] } {
  const dropped = new Set<number>();
  for (;;) {
    const masked = dropped.size === 0 ? rows : rows.map((row) => row.map((value, j) => (dropped.has(j) ? 0 : value)));
    const fit = fitLogistic(masked, labels, L2);
    // One at a time, the most negative first: leaving one out often turns a correlated partner positive.
    let worst = -1;
    FEATURE_NAMES.forEach((name, j) => {
      if (RISK_RAISING.has(name) && !dropped.has(j) && (fit.weights[j] ?? 0) < (worst < 0 ? 0 : (fit.weights[worst] ?? 0))) worst = j;
    });
    if (worst < 0) return { ...fit, dropped: [...dropped].map((j) => FEATURE_NAMES[j] ?? '') };
    dropped.add(worst);
  }
}

export interface TrainOptions {
  world: GeneratorOptions;
  model_version: string;
  /** Extra labelled rows (fraud labels from disputes), appended to the fitting set. */
  extra?: FeatureRows | undefined;
}

async function worldRows(world: GeneratorOptions): Promise<FeatureRows> {
  return replayFeatures(generateTransactions(world), world.start_ms + WARM_UP_DAYS * DAY_MS);
}

export async function trainModel(options: TrainOptions): Promise<ModelFile> {
  const all = await worldRows(options.world);
  const split_ms = options.world.start_ms + (WARM_UP_DAYS + (options.world.days - WARM_UP_DAYS) * (1 - VALIDATION_SHARE)) * DAY_MS;
  const fit_idx = all.created_ms.flatMap((t, i) => (t < split_ms ? [i] : []));
  const val_idx = all.created_ms.flatMap((t, i) => (t >= split_ms ? [i] : []));
  const fit_rows = fit_idx.map((i) => all.rows[i] as Float64Array).concat(options.extra?.rows ?? []);
  const fit_labels = Uint8Array.from([...fit_idx.map((i) => all.labels[i] ?? 0), ...(options.extra?.labels ?? [])]);
  const fit = fitMonotone(fit_rows, fit_labels);
  const draft: ModelFile = {
    model_version: options.model_version,
    kind: 'logistic_regression',
    features: [...FEATURE_NAMES],
    means: fit.means,
    scales: fit.scales,
    weights: fit.weights,
    intercept: fit.intercept,
    thresholds: DEFAULT_PROBABILITIES,
    training: {},
  };
  const model = loadModel(draft);
  const val_p = val_idx.map((i) => model.probability(all.rows[i] as Float64Array));
  const val_y = val_idx.map((i) => all.labels[i] ?? 0);
  const highest = lowestCutWithFalsePositiveRate(val_p, val_y, CANDIDATE_PROBABILITIES, HIGHEST_HONEST_SHARE) ?? DEFAULT_PROBABILITIES.highest_probability;
  const elevated_cut =
    lowestCutWithFalsePositiveRate(val_p, val_y, CANDIDATE_PROBABILITIES, ELEVATED_HONEST_SHARE) ?? DEFAULT_PROBABILITIES.elevated_probability;
  const elevated = Math.min(elevated_cut, highest / 2);
  return {
    ...draft,
    thresholds: { elevated_probability: elevated, highest_probability: highest },
    training: {
      generator: options.world,
      warm_up_days: WARM_UP_DAYS,
      fitted_rows: fit_rows.length,
      fitted_fraud_rows: fit_labels.reduce((sum, y) => sum + y, 0),
      dispute_label_rows: options.extra?.rows.length ?? 0,
      validation_rows: val_idx.length,
      l2: L2,
      newton_iterations: fit.iterations,
      features_left_out_for_a_negative_weight: fit.dropped,
      threshold_rule: `lowest probability flagging at most ${ELEVATED_HONEST_SHARE} (elevated) and ${HIGHEST_HONEST_SHARE} (highest) of honest validation payments`,
    },
  };
}

export interface Evaluation {
  model_version: string;
  world: GeneratorOptions;
  rows: number;
  fraud_rows: number;
  roc_auc: number;
  /** Scored elevated or highest (score ≥ 65). */
  elevated: CutMetrics & { score_threshold: number };
  /** Scored highest (score ≥ 75). */
  highest: CutMetrics & { score_threshold: number };
  /** Share of each pattern's attempts scored elevated or above (honest: the share wrongly flagged). */
  flagged_by_pattern: Record<string, number>;
}

export async function evaluateModel(file: unknown, world: GeneratorOptions): Promise<Evaluation> {
  const model = loadModel(file);
  const rows = await worldRows(world);
  const probabilities = rows.rows.map((row) => model.probability(row));
  const scores = probabilities.map((p) => model.score(p));
  const flagged: Record<string, [number, number]> = {};
  rows.patterns.forEach((pattern, i) => {
    const entry = (flagged[pattern] ??= [0, 0]);
    entry[0] += (scores[i] ?? 0) >= ELEVATED_SCORE ? 1 : 0;
    entry[1] += 1;
  });
  return {
    model_version: model.version,
    world,
    rows: rows.rows.length,
    fraud_rows: rows.labels.reduce((sum, y) => sum + y, 0),
    roc_auc: rocAuc(probabilities, rows.labels),
    elevated: { score_threshold: ELEVATED_SCORE, ...atCut(scores, rows.labels, ELEVATED_SCORE) },
    highest: { score_threshold: HIGHEST_SCORE, ...atCut(scores, rows.labels, HIGHEST_SCORE) },
    flagged_by_pattern: Object.fromEntries(Object.entries(flagged).map(([pattern, [hit, total]]) => [pattern, Math.round((hit / total) * 1000) / 1000])),
  };
}
