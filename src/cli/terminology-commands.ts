// `hearth terminology import|preload` (docs/terminology-import.md): loads a code system release
// (LOINC, SNOMED CT RF2, ICD-10-CM, RxNorm, CVX) or FHIR terminology resources in one
// transaction, into the shared tables on the operator's connection or, with --tenant, into that
// tenant's own; and the preload of the FHIR R4 and HL7 Terminology packages. Progress goes to
// stderr, the summary to stdout.
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatDuration } from '../load/progress.js';
import type { Database } from '../storage/pg/database.js';
import { PgRepository } from '../storage/pg/pg-repository.js';
import { PgSharedTerminology } from '../storage/pg/shared-terminology.js';
import { PgBulkSharedTerminology } from '../storage/pg/shared-terminology-bulk.js';
import { fhirResources } from '../terminology/import/fhir-files.js';
import { totalBytes } from '../terminology/import/files.js';
import { CODE_SYSTEM_FORMATS, IMPORT_FORMATS } from '../terminology/import/formats.js';
import { describePreload, preloadPackages } from '../terminology/import/preload.js';
import { importCodeSystem, importFhirResources, newProgress, type FhirOutcome, type VersionOutcome } from '../terminology/import/run-import.js';
import type { ImportProgress } from '../terminology/import/source.js';
import { sharedTarget, tenantTarget, type TerminologyTarget } from '../terminology/import/target.js';

export const TERMINOLOGY_USAGE = `  hearth terminology import <format> <path>... [--tenant T] [--replace] [--version V]
                                                 load a code system release: loinc (Loinc.csv + MultiAxialHierarchy.csv),
                                                 snomed (RF2 snapshot), icd10cm (icd10cm_order_<year>.txt), rxnorm
                                                 (RXNCONSO.RRF + RXNREL.RRF), cvx (cvx.txt), fhir (CodeSystem/ValueSet/
                                                 ConceptMap JSON, Bundles, directories, NPM packages); shared unless --tenant
  hearth terminology preload                     load the FHIR R4 and HL7 Terminology code systems and value sets (once)`;

type Out = (line: string) => void;

const n = (value: number) => Math.round(value).toLocaleString('en-US');

/** One line of progress: `[####------]  40%  12,345 concepts  1,234 edges  4,321/s  ETA 0:35  Loinc.csv`. */
export function formatImportProgress(p: ImportProgress, elapsedMs: number, barWidth = 20): string {
  const fraction = p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : 0;
  const filled = Math.round(fraction * barWidth);
  const rate = elapsedMs > 0 ? (p.concepts * 1000) / elapsedMs : 0;
  const eta = p.bytesDone > 0 && fraction < 1 ? ((p.bytesTotal - p.bytesDone) / p.bytesDone) * (elapsedMs / 1000) : undefined;
  return [
    `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`,
    `${String(Math.floor(fraction * 100)).padStart(3)}%`,
    `${n(p.concepts)} concepts`,
    `${n(p.edges)} edges`,
    `${n(rate)}/s`,
    `ETA ${eta === undefined ? '--:--' : formatDuration(eta)}`,
    p.file ?? '',
  ].join('  ');
}

/** Redraws the progress line on a terminal, prints one every few seconds otherwise (logs). */
function progressReporter(stream: NodeJS.WriteStream, progress: ImportProgress) {
  const started = Date.now();
  const tty = stream.isTTY === true;
  const draw = () => {
    const line = formatImportProgress(progress, Date.now() - started);
    stream.write(tty ? `\r${line.slice(0, Math.max(20, (stream.columns ?? 120) - 1))}\x1b[K` : `${line}\n`);
  };
  const timer = setInterval(draw, tty ? 250 : 5000);
  return {
    stop() {
      clearInterval(timer);
      if (tty) stream.write('\r\x1b[K');
    },
  };
}

/** Runs `work` in one transaction on the shared tables or the tenant's. */
async function inTarget<T>(database: Database, tenant: string | undefined, work: (target: TerminologyTarget) => Promise<T>): Promise<T> {
  if (tenant === undefined) return new PgSharedTerminology(database.pool).write((writer) => work(sharedTarget(writer)));
  const repository = new PgRepository(database.pool);
  if (!(await repository.findTenant(tenant))) throw new Error(`Tenant '${tenant}' does not exist (hearth tenant create ${tenant})`);
  return repository.withTenant(tenant, (store) => work(tenantTarget(store.terminology)));
}

const versionText = (o: VersionOutcome) => `${o.url}${o.version ? ` version ${o.version}` : ''}`;

function describeVersion(o: VersionOutcome, seconds: number): string {
  if (o.status === 'skipped') return `${versionText(o)}: already loaded, skipped (--replace loads it again)`;
  return `${versionText(o)}: ${n(o.concepts)} concepts, ${n(o.edges)} is-a edges, ${n(o.closureRows)} closure rows in ${seconds.toFixed(1)} s`;
}

function describeFhir(o: FhirOutcome, seconds: number, tenant: boolean): string[] {
  const lines = o.codeSystems.map((c) => describeVersion(c, seconds));
  const stored = [
    o.definitionsOnly ? `${o.definitionsOnly} CodeSystem definitions without concepts` : '',
    o.valueSets ? `${o.valueSets} ValueSets` : '',
    o.conceptMaps ? `${o.conceptMaps} ConceptMaps` : '',
  ].filter(Boolean);
  if (stored.length > 0) lines.push(`stored ${stored.join(', ')} as shared definitions`);
  if (tenant && o.notForTenant > 0) lines.push(`${o.notForTenant} ValueSet/ConceptMap resources not imported: a tenant stores them through the FHIR API (PUT [base]/ValueSet/[id])`);
  for (const s of o.skipped) lines.push(`skipped ${s.origin}: ${s.reason}`);
  lines.push(`${o.codeSystems.filter((c) => c.status === 'loaded').length} code system(s) loaded in ${seconds.toFixed(1)} s`);
  return lines;
}

async function importCommand(database: Database, args: string[], out: Out, err: NodeJS.WriteStream): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { tenant: { type: 'string' }, replace: { type: 'boolean', default: false }, version: { type: 'string' } },
  });
  const [format, ...paths] = positionals;
  if (!format || !IMPORT_FORMATS.includes(format) || paths.length === 0) throw new Error(`Usage:\n${TERMINOLOGY_USAGE}\nformats: ${IMPORT_FORMATS.join(', ')}`);
  for (const path of paths) await stat(path).catch(() => Promise.reject(new Error(`${path}: no such file or directory`)));
  const options = { replace: values.replace, ...(values.version ? { version: values.version } : {}) };
  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  if (format === 'fhir') {
    const progress = newProgress();
    const reporter = progressReporter(err, progress);
    try {
      const outcome = await inTarget(database, values.tenant, (target) =>
        importFhirResources(target, fhirResources(paths), { ...options, source: `import:${paths.join(',')}`.slice(0, 200) }, progress),
      );
      reporter.stop();
      for (const line of describeFhir(outcome, seconds(), values.tenant !== undefined)) out(line);
    } finally {
      reporter.stop();
    }
    return;
  }
  const source = await CODE_SYSTEM_FORMATS[format](paths);
  const progress = newProgress(await totalBytes(source.files));
  const reporter = progressReporter(err, progress);
  try {
    const outcome = await inTarget(database, values.tenant, (target) => importCodeSystem(target, source, options, progress));
    reporter.stop();
    out(describeVersion(outcome, seconds()));
  } finally {
    reporter.stop();
  }
}

/** `hearth terminology ...` on an open, migrated database. */
export async function terminologyCommand(database: Database, args: string[], out: Out = console.log, err: NodeJS.WriteStream = process.stderr): Promise<void> {
  const [action, ...rest] = args;
  if (action === 'import') return importCommand(database, rest, out, err);
  if (action === 'preload') {
    out(describePreload(await preloadPackages(new PgBulkSharedTerminology(database.pool))));
    return;
  }
  throw new Error(`Usage:\n${TERMINOLOGY_USAGE}`);
}
