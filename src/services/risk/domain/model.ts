import { z } from 'zod';
import { FEATURE_NAMES } from './features.js';
import type { RiskLevel } from './signals.js';

/**
 * The trained model: logistic regression over standardised features (scripts/risk/train.mjs writes
 * it), and the map from its probability to Radar's 0–100 score. The map is piecewise linear and
 * monotone, pinned so that the probabilities chosen at training for `elevated` and `highest` land on
 * Radar's default score thresholds, 65 and 75: rules written against Stripe's scores mean the same here.
 */
export const ELEVATED_SCORE = 65;
export const HIGHEST_SCORE = 75;

const finite = z.number().refine(Number.isFinite, 'must be finite');
const probability = finite.refine((p) => p > 0 && p < 1, 'must be a probability strictly between 0 and 1');

export const modelFileSchema = z
  .object({
    model_version: z.string().min(1),
    kind: z.literal('logistic_regression'),
    features: z.array(z.string()),
    means: z.array(finite),
    scales: z.array(finite.refine((s) => s > 0, 'must be positive')),
    weights: z.array(finite),
    intercept: finite,
    thresholds: z.object({ elevated_probability: probability, highest_probability: probability }),
    training: z.record(z.string(), z.unknown()),
  })
  .refine((m) => m.features.join() === FEATURE_NAMES.join(), {
    message: `features must be exactly ${FEATURE_NAMES.join(', ')} (the model was trained on other features)`,
  })
  .refine((m) => m.means.length === m.features.length && m.scales.length === m.features.length && m.weights.length === m.features.length, {
    message: 'means, scales and weights must have one entry per feature',
  })
  .refine((m) => m.thresholds.elevated_probability < m.thresholds.highest_probability, {
    message: 'the elevated probability must be below the highest',
  });

export type ModelFile = z.infer<typeof modelFileSchema>;

export interface RiskModel {
  version: string;
  probability(vector: Float64Array): number;
  score(probability: number): number;
}

/** Checks a model file and folds its standardisation into the weights (one multiply-add per feature). */
export function loadModel(file: unknown): RiskModel {
  const model = modelFileSchema.parse(file);
  const weights = Float64Array.from(model.weights, (w, i) => w / (model.scales[i] ?? 1));
  const bias = model.weights.reduce((sum, w, i) => sum - (w * (model.means[i] ?? 0)) / (model.scales[i] ?? 1), model.intercept);
  const { elevated_probability, highest_probability } = model.thresholds;
  return {
    version: model.model_version,
    probability(vector) {
      let logit = bias;
      for (let i = 0; i < weights.length; i += 1) logit += (weights[i] ?? 0) * (vector[i] ?? 0);
      return 1 / (1 + Math.exp(-logit));
    },
    score: (p) => probabilityToScore(p, elevated_probability, highest_probability),
  };
}

/** [0, elevated) → 0..64, [elevated, highest) → 65..74, [highest, 1] → 75..100; integer, monotone. */
export function probabilityToScore(p: number, elevated: number, highest: number): number {
  if (!(p >= elevated)) return Math.max(0, Math.min(ELEVATED_SCORE - 1, Math.floor((ELEVATED_SCORE * p) / elevated)));
  if (p < highest) {
    const within = ((HIGHEST_SCORE - ELEVATED_SCORE) * (p - elevated)) / (highest - elevated);
    return Math.min(HIGHEST_SCORE - 1, ELEVATED_SCORE + Math.floor(within));
  }
  return Math.min(100, HIGHEST_SCORE + Math.floor(((100 - HIGHEST_SCORE) * (p - highest)) / (1 - highest)));
}

export function riskLevel(score: number): RiskLevel {
  if (score >= HIGHEST_SCORE) return 'highest';
  return score >= ELEVATED_SCORE ? 'elevated' : 'normal';
}
