/**
 * L2-regularised logistic regression fitted by Newton's method (iteratively reweighted least squares)
 * on standardised features: a few dozen features and tens of thousands of rows converge in ~10 steps.
 */
export interface LogisticFit {
  means: number[];
  scales: number[];
  weights: number[];
  intercept: number;
  iterations: number;
}

const MAX_ITERATIONS = 30;
const TOLERANCE = 1e-8;

export function standardisation(rows: readonly Float64Array[], width: number): { means: number[]; scales: number[] } {
  const means = new Array<number>(width).fill(0);
  const squares = new Array<number>(width).fill(0);
  for (const row of rows) for (let j = 0; j < width; j += 1) means[j] = (means[j] ?? 0) + (row[j] ?? 0) / rows.length;
  for (const row of rows) for (let j = 0; j < width; j += 1) squares[j] = (squares[j] ?? 0) + ((row[j] ?? 0) - (means[j] ?? 0)) ** 2 / rows.length;
  // A constant feature keeps scale 1: it then contributes nothing, rather than dividing by zero.
  return { means, scales: squares.map((s) => (s > 1e-12 ? Math.sqrt(s) : 1)) };
}

export function fitLogistic(rows: readonly Float64Array[], labels: Uint8Array, l2: number): LogisticFit {
  const width = rows[0]?.length ?? 0;
  const { means, scales } = standardisation(rows, width);
  const d = width + 1; // the last coefficient is the intercept, not penalised
  const beta = new Float64Array(d);
  const x = new Float64Array(d);
  let iterations = 0;
  for (; iterations < MAX_ITERATIONS; iterations += 1) {
    const gradient = new Float64Array(d);
    const hessian = new Float64Array(d * d);
    rows.forEach((row, i) => {
      for (let j = 0; j < width; j += 1) x[j] = ((row[j] ?? 0) - (means[j] ?? 0)) / (scales[j] ?? 1);
      x[width] = 1;
      let logit = 0;
      for (let j = 0; j < d; j += 1) logit += (beta[j] ?? 0) * (x[j] ?? 0);
      const p = 1 / (1 + Math.exp(-logit));
      const w = Math.max(p * (1 - p), 1e-10);
      const residual = p - (labels[i] ?? 0);
      for (let j = 0; j < d; j += 1) {
        const xj = x[j] ?? 0;
        gradient[j] = (gradient[j] ?? 0) + residual * xj;
        for (let k = 0; k <= j; k += 1) hessian[j * d + k] = (hessian[j * d + k] ?? 0) + w * xj * (x[k] ?? 0);
      }
    });
    for (let j = 0; j < width; j += 1) {
      gradient[j] = (gradient[j] ?? 0) + l2 * (beta[j] ?? 0);
      hessian[j * d + j] = (hessian[j * d + j] ?? 0) + l2;
    }
    for (let j = 0; j < d; j += 1) for (let k = 0; k < j; k += 1) hessian[k * d + j] = hessian[j * d + k] ?? 0;
    const step = solve(hessian, gradient, d);
    let largest = 0;
    for (let j = 0; j < d; j += 1) {
      beta[j] = (beta[j] ?? 0) - (step[j] ?? 0);
      largest = Math.max(largest, Math.abs(step[j] ?? 0));
    }
    if (largest < TOLERANCE) break;
  }
  return { means, scales, weights: Array.from(beta.subarray(0, width)), intercept: beta[width] ?? 0, iterations: iterations + 1 };
}

/** Solves A·s = b for a symmetric positive definite A (Cholesky). */
function solve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i += 1) {
    for (let j = 0; j <= i; j += 1) {
      let sum = a[i * n + j] ?? 0;
      for (let k = 0; k < j; k += 1) sum -= (l[i * n + k] ?? 0) * (l[j * n + k] ?? 0);
      l[i * n + j] = i === j ? Math.sqrt(Math.max(sum, 1e-12)) : sum / (l[j * n + j] ?? 1);
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i += 1) {
    let sum = b[i] ?? 0;
    for (let k = 0; k < i; k += 1) sum -= (l[i * n + k] ?? 0) * (y[k] ?? 0);
    y[i] = sum / (l[i * n + i] ?? 1);
  }
  const s = new Float64Array(n);
  for (let i = n - 1; i >= 0; i -= 1) {
    let sum = y[i] ?? 0;
    for (let k = i + 1; k < n; k += 1) sum -= (l[k * n + i] ?? 0) * (s[k] ?? 0);
    s[i] = sum / (l[i * n + i] ?? 1);
  }
  return s;
}
