// hearth load (docs/loading.md): how far a load has got, its rate and its estimated time left,
// and one line of text that says so (the CLI's progress bar; a $import status could reuse it).
// The estimate goes by stored bytes: files differ too much in size for counts to predict time.

export interface LoadProgress {
  filesTotal: number;
  filesLoaded: number;
  filesSkipped: number;
  filesFailed: number;
  /** Resources committed by this run. */
  resources: number;
  /** Bytes of the files this run loads (skipped files are taken out when found). */
  bytesTotal: number;
  /** Of those, bytes whose resources have committed. */
  bytesDone: number;
  elapsedMs: number;
}

export const resourcesPerSecond = (p: Pick<LoadProgress, 'resources' | 'elapsedMs'>): number =>
  p.elapsedMs > 0 ? (p.resources * 1000) / p.elapsedMs : 0;

/** Seconds left at the rate so far, or undefined before anything has committed. */
export function etaSeconds(p: LoadProgress): number | undefined {
  if (p.bytesDone <= 0 || p.elapsedMs <= 0) return undefined;
  const left = Math.max(0, p.bytesTotal - p.bytesDone);
  return (left / p.bytesDone) * (p.elapsedMs / 1000);
}

/** 75 -> "1:15", 3725 -> "1:02:05". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const two = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

const number = (n: number) => Math.round(n).toLocaleString('en-US');

/** e.g. `[########------------]  40%  12,345 resources  4,321/s  ETA 0:35  files 12/205 (3 skipped)` */
export function formatProgress(p: LoadProgress, barWidth = 20): string {
  const fraction = p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : p.filesTotal > 0 ? 1 : 0;
  const filled = Math.round(fraction * barWidth);
  const eta = etaSeconds(p);
  const done = p.filesLoaded + p.filesSkipped + p.filesFailed;
  const notes = [p.filesSkipped ? `${p.filesSkipped} skipped` : '', p.filesFailed ? `${p.filesFailed} failed` : ''].filter(Boolean);
  return [
    `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`,
    `${String(Math.floor(fraction * 100)).padStart(3)}%`,
    `${number(p.resources)} resources`,
    `${number(resourcesPerSecond(p))}/s`,
    `ETA ${eta === undefined ? '--:--' : formatDuration(eta)}`,
    `files ${done}/${p.filesTotal}${notes.length ? ` (${notes.join(', ')})` : ''}`,
  ].join('  ');
}
