// Unit tests for src/load/progress.ts: rate, time left and the progress line.
import assert from 'node:assert/strict';
import { etaSeconds, formatDuration, formatProgress, resourcesPerSecond, type LoadProgress } from '../../../src/load/progress.js';

const progress = (p: Partial<LoadProgress>): LoadProgress => ({
  filesTotal: 10, filesLoaded: 0, filesSkipped: 0, filesFailed: 0, resources: 0, bytesTotal: 1000, bytesDone: 0, elapsedMs: 0, ...p,
});

describe('load progress', () => {
  it('formats durations as m:ss or h:mm:ss', () => {
    assert.equal(formatDuration(0), '0:00');
    assert.equal(formatDuration(75.4), '1:15');
    assert.equal(formatDuration(3725), '1:02:05');
  });

  it('estimates time left from bytes done so far', () => {
    assert.equal(etaSeconds(progress({})), undefined);
    assert.equal(etaSeconds(progress({ bytesDone: 250, elapsedMs: 10_000 })), 30);
    assert.equal(resourcesPerSecond(progress({ resources: 5000, elapsedMs: 2000 })), 2500);
  });

  it('draws a bar with resources, rate, ETA and files', () => {
    const line = formatProgress(progress({ filesLoaded: 3, filesSkipped: 1, resources: 12345, bytesDone: 400, elapsedMs: 4000 }), 10);
    assert.equal(line, '[####------]   40%  12,345 resources  3,086/s  ETA 0:06  files 4/10 (1 skipped)');
    assert.match(formatProgress(progress({})), /ETA --:--/);
  });
});
