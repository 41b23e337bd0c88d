/** How well scores separate fraud from honest payments: ROC AUC, and precision/recall at a cut. */

/** Area under the ROC curve: the chance a random fraud scores above a random honest payment (ties count half). */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => (scores[a] ?? 0) - (scores[b] ?? 0));
  let rank_sum = 0;
  let positives = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1] ?? 0] === scores[order[i] ?? 0]) j += 1;
    const average_rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k += 1) {
      if (labels[order[k] ?? 0] === 1) {
        rank_sum += average_rank;
        positives += 1;
      }
    }
    i = j + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rank_sum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export interface CutMetrics {
  flagged: number;
  precision: number;
  recall: number;
  /** Share of honest payments flagged. */
  false_positive_rate: number;
}

/** Payments with score ≥ cut are flagged. */
export function atCut(scores: ArrayLike<number>, labels: ArrayLike<number>, cut: number): CutMetrics {
  let tp = 0;
  let fp = 0;
  let positives = 0;
  for (let i = 0; i < scores.length; i += 1) {
    const fraud = labels[i] === 1;
    if (fraud) positives += 1;
    if ((scores[i] ?? 0) >= cut) {
      if (fraud) tp += 1;
      else fp += 1;
    }
  }
  const negatives = scores.length - positives;
  return {
    flagged: tp + fp,
    precision: tp + fp === 0 ? 1 : tp / (tp + fp),
    recall: positives === 0 ? 0 : tp / positives,
    false_positive_rate: negatives === 0 ? 0 : fp / negatives,
  };
}

/** The lowest cut among `candidates` (ascending) that flags at most `max_rate` of the honest payments. */
export function lowestCutWithFalsePositiveRate(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  candidates: readonly number[],
  max_rate: number,
): number | null {
  for (const cut of candidates) if (atCut(scores, labels, cut).false_positive_rate <= max_rate) return cut;
  return null;
}
