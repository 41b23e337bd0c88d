/** Types of scripts/stripe-coverage.mjs, for the tests that import it. */
export interface SpecOperation {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  resource: string;
}
export interface ProbedOperation extends SpecOperation {
  served: boolean;
}
export interface CoverageSummary {
  served: number;
  total: number;
  resources: { resource: string; served: number; total: number }[];
}
export const SPEC_FILE: string;
export function specOperations(spec: unknown): SpecOperation[];
export function probeCoverage(base_url: string, secret_key: string, spec: unknown): Promise<ProbedOperation[]>;
export function summarize(results: ProbedOperation[]): CoverageSummary;
