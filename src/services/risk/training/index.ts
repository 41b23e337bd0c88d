/** The training side of the risk model, for scripts/risk/train.mjs and the evaluation test. */
export { HELD_OUT_WORLD, RISK_RAISING, TRAINING_WORLD, evaluateModel, trainModel, type Evaluation } from './train.js';
export { generateTransactions, type GeneratorOptions, type SyntheticTransaction } from './synthetic.js';
export { replayFeatures, type FeatureRows } from './replay.js';
export { rocAuc, atCut } from './metrics.js';
