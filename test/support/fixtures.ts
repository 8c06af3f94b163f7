// The repository's own test data (test/fixtures/): tests and benchmarks read nothing outside
// the repository and node_modules, so a bare clone runs them.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { projectRoot } from '../../src/core/project-root.js';

/** test/fixtures/synthea: Synthea transaction bundles, one gzipped file per patient (see its README). */
export const SYNTHEA_FIXTURES = path.join(projectRoot(), 'test', 'fixtures', 'synthea');

/** The smallest Synthea fixture (61 resources): the one the end-to-end tests post. */
export const SMALLEST_SYNTHEA_FIXTURE = 'Luigi_Wiegand_e27d88b0-c5e5-4042-ad49-184f6a900ee3.json.gz';

/** File names of the Synthea fixtures, sorted by name. */
export function syntheaFixtureFiles(): string[] {
  return readdirSync(SYNTHEA_FIXTURES).filter((f) => f.endsWith('.json.gz')).sort();
}

/** Absolute path of one Synthea fixture. */
export function syntheaFixturePath(file: string): string {
  return path.join(SYNTHEA_FIXTURES, file);
}

/** The unzipped JSON text of one Synthea fixture. */
export function readSyntheaFixtureText(file: string): string {
  return gunzipSync(readFileSync(syntheaFixturePath(file))).toString('utf8');
}

/** One Synthea fixture, parsed. */
export function readSyntheaFixture<T = unknown>(file: string): T {
  return JSON.parse(readSyntheaFixtureText(file)) as T;
}

