// RxNorm (NLM, RxNorm Technical Documentation) as http://www.nlm.nih.gov/research/umls/rxnorm.
// RXNCONSO.RRF rows of SAB=RXNORM are the concepts, by RXCUI: the display is the name of the
// concept's main term type (a clinical or branded drug, ingredient, ...) before its synonyms
// (SY, TMSY, PSN), the term types are a property (TTY), the other names designations. A concept
// is inactive when every row of it is suppressed (SUPPRESS other than N).
//
// Is-a: RXNREL.RRF rows of SAB=RXNORM with RELA `isa` or `inverse_isa` only (RxNorm relates
// drugs mostly by other relations, e.g. has_ingredient, tradename_of, consists_of, which are not
// subsumption and are not loaded). In RRF, REL/RELA name the relation of the second concept
// (RXCUI2) to the first (RXCUI1): `isa` means RXCUI2 is-a RXCUI1.
import { basename } from 'node:path';
import type { CodeSystemHeader, ConceptProperty, Designation, PropertyDef } from '../../storage/terminology-store.js';
import { ImportError } from './errors.js';
import { filesUnder, pick, required } from './files.js';
import { rrfRows } from './rrf.js';
import type { CodeSystemSource } from './source.js';

export const RXNORM_URL = 'http://www.nlm.nih.gov/research/umls/rxnorm';

/** RXNCONSO.RRF: RXCUI|LAT|TS|LUI|STT|SUI|ISPREF|RXAUI|SAUI|SCUI|SDUI|SAB|TTY|CODE|STR|SRL|SUPPRESS|CVF| */
const CONSO = { columns: 18, RXCUI: 0, SAB: 11, TTY: 12, STR: 14, SUPPRESS: 16 };
/** RXNREL.RRF: RXCUI1|RXAUI1|STYPE1|REL|RXCUI2|RXAUI2|STYPE2|RELA|RUI|SRUI|SAB|SL|DIR|RG|SUPPRESS|CVF| */
const REL = { columns: 16, RXCUI1: 0, RXCUI2: 4, RELA: 7, SAB: 10 };

/** Term types whose name is a concept's display, best first; synonyms come last. */
const DISPLAY_ORDER = ['SCD', 'SBD', 'GPCK', 'BPCK', 'SCDG', 'SBDG', 'SCDGP', 'SCDF', 'SBDF', 'SCDFP', 'SCDC', 'SBDC', 'MIN', 'PIN', 'IN', 'BN', 'DF', 'DFG', 'ET', 'PSN', 'SY', 'TMSY'];
const SYNONYM_TTYS = new Set(['SY', 'TMSY', 'PSN', 'ET']);
const rank = (tty: string) => {
  const i = DISPLAY_ORDER.indexOf(tty);
  return i === -1 ? DISPLAY_ORDER.length - 4 : i; // an unknown main term type ranks before the synonyms
};

const PROPERTY_DEFS: PropertyDef[] = [{ code: 'TTY', type: 'code', uri: `${RXNORM_URL}#TTY`, description: 'RxNorm term type' }];

interface Entry {
  names: { tty: string; str: string }[];
  anyActive: boolean;
}

/** The release's date from a directory or file name such as RxNorm_full_01022024 (as NLM writes it, MMDDYYYY). */
const releaseOf = (path: string) => /RxNorm_\w*?_?(\d{8})/i.exec(path)?.[1];

export async function rxnormSource(paths: readonly string[]): Promise<CodeSystemSource> {
  const files = await filesUnder(paths);
  const conso = required(pick(files, /^RXNCONSO\.RRF$/i, 'RXNCONSO.RRF'), 'RXNCONSO.RRF', paths);
  const rel = pick(files, /^RXNREL\.RRF$/i, 'RXNREL.RRF');
  return {
    format: 'rxnorm',
    files: rel ? [conso, rel] : [conso],
    async header(): Promise<CodeSystemHeader> {
      const version = releaseOf(conso) ?? paths.map(releaseOf).find((v) => v !== undefined);
      if (!version) throw new Error(`No release date in ${paths.join(', ')} (a name like RxNorm_full_01022024); give --version`);
      const resource = {
        resourceType: 'CodeSystem',
        url: RXNORM_URL,
        version,
        name: 'RxNorm',
        title: 'RxNorm',
        status: 'active',
        publisher: 'National Library of Medicine (NLM)',
        caseSensitive: false,
        hierarchyMeaning: 'is-a',
        content: 'complete',
        property: PROPERTY_DEFS,
      };
      return { url: RXNORM_URL, version, name: 'RxNorm', title: 'RxNorm', status: 'active', content: 'complete', caseSensitive: false, hierarchyMeaning: 'is-a', source: 'rxnorm', propertyDefs: PROPERTY_DEFS, resource };
    },
    async emit(sink, progress) {
      progress.file = basename(conso);
      const concepts = new Map<string, Entry>();
      for await (const { line, fields } of rrfRows(conso, CONSO.columns, progress)) {
        if (fields[CONSO.SAB] !== 'RXNORM') continue;
        const rxcui = fields[CONSO.RXCUI];
        if (!/^\d+$/.test(rxcui)) throw new ImportError(conso, line, `RXCUI '${rxcui}' is not a number`);
        let entry = concepts.get(rxcui);
        if (!entry) concepts.set(rxcui, (entry = { names: [], anyActive: false }));
        entry.names.push({ tty: fields[CONSO.TTY], str: fields[CONSO.STR] });
        if (fields[CONSO.SUPPRESS] === 'N' || fields[CONSO.SUPPRESS] === '') entry.anyActive = true;
      }
      for (const [code, entry] of concepts) {
        const names = [...entry.names].sort((a, b) => rank(a.tty) - rank(b.tty));
        const ttys = [...new Set(names.map((n) => n.tty).filter((t) => !SYNONYM_TTYS.has(t)))];
        const properties: ConceptProperty[] = ttys.map((tty) => ({ code: 'TTY', type: 'code', value: tty }));
        const designations: Designation[] = names.slice(1).map((n) => ({ language: 'en', use: { system: RXNORM_URL, code: n.tty, display: n.tty }, value: n.str }));
        await sink.concept({ code, display: names[0].str, active: entry.anyActive, ...(designations.length > 0 ? { designations } : {}), properties });
      }
      if (!rel) return;
      progress.file = basename(rel);
      const edges = new Set<string>();
      for await (const { line, fields } of rrfRows(rel, REL.columns, progress)) {
        if (fields[REL.SAB] !== 'RXNORM') continue;
        const rela = fields[REL.RELA];
        if (rela !== 'isa' && rela !== 'inverse_isa') continue;
        const [one, two] = [fields[REL.RXCUI1], fields[REL.RXCUI2]];
        if (!concepts.has(one) || !concepts.has(two)) throw new ImportError(rel, line, `an ${rela} relation names an RXCUI not in ${basename(conso)}`);
        const [child, parent] = rela === 'isa' ? [two, one] : [one, two];
        // Both directions of a pair are listed: write it once.
        if (edges.has(`${child}|${parent}`)) continue;
        edges.add(`${child}|${parent}`);
        await sink.edge({ child, parent });
      }
    },
  };
}
