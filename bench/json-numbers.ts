// npm run bench:json-numbers — cost of keeping decimal lexemes (src/fhir/json-numbers.ts; FHIR R4
// datatypes.html#decimal). On a synthetic 5 MB transaction bundle of Observations, prints the
// time and MB/s of captureNumberLexemes and the time of stringifyPreservingNumbers, once with no
// lexeme to keep (the fast path: every value prints as JSON.stringify would) and once with a
// trailing zero on every value. In-process, no database.
import { captureNumberLexemes, stringifyPreservingNumbers } from '../src/fhir/json-numbers.js';

const TARGET_BYTES = 5_000_000;

/** A transaction bundle's text of about TARGET_BYTES, value `i` written as `value(i)`. */
function bundle(value: (i: number) => string): string {
  const entries: string[] = [];
  for (let i = 0, size = 0; size < TARGET_BYTES; i++) {
    const entry =
      `{"fullUrl":"urn:uuid:5e3f1e23-0c4d-4e2b-9f00-${String(i).padStart(12, '0')}","resource":` +
      `{"resourceType":"Observation","id":"o${i}","status":"final","effectiveDateTime":"2020-01-01T10:00:00-05:00",` +
      `"code":{"coding":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic blood pressure"}]},` +
      `"valueQuantity":{"value":${value(i)},"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}}`;
    entries.push(entry);
    size += entry.length;
  }
  return `{"resourceType":"Bundle","type":"transaction","entry":[${entries.join(',')}]}`;
}

function measure(label: string, text: string): void {
  captureNumberLexemes(text); // warm up
  const start = performance.now();
  const lexemes = captureNumberLexemes(text);
  const captureMs = performance.now() - start;
  const value: unknown = JSON.parse(text);
  const startOut = performance.now();
  stringifyPreservingNumbers(value, lexemes);
  const stringifyMs = performance.now() - startOut;
  const mb = text.length / 1e6;
  console.log(
    `${label}: ${mb.toFixed(1)} MB, ${lexemes?.size ?? 0} lexemes; capture ${captureMs.toFixed(1)} ms ` +
      `(${(mb / (captureMs / 1000)).toFixed(0)} MB/s), stringify ${stringifyMs.toFixed(1)} ms`,
  );
}

measure('no lexemes', bundle((i) => `${i % 1000}.5`));
measure('every value', bundle((i) => `${i % 1000}.50`));
