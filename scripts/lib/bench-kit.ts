// What the bench sections share: the percentile they quote and the chain plan they time.

/** The p-th percentile (0-100) of `values` by the nearest-rank method; NaN for no values. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** A plan of `n` subtasks in a chain (s2 needs s1, s3 needs s2, ...), each reading src/feature.ts. */
export function chainPlan(n: number) {
  return {
    subtasks: Array.from({ length: n }, (_, i) => ({
      id: `s${i + 1}`,
      title: `Step ${i + 1}`,
      description: `Implement step ${i + 1} of the feature, building on the previous step's output.`,
      depends_on: i === 0 ? [] : [`s${i}`],
      complexity: 'routine',
      output_format: 'TypeScript code',
      relevant_files: ['src/feature.ts'],
    })),
    coordination_notes: 'A straight chain.',
  };
}
