// Reads samples out of a Prometheus text exposition (tests of src/core/metrics.ts and GET /metrics).

/** The value of the sample `series` (name and labels exactly as exposed), or undefined. */
export function sampleOf(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
