// Reading a FhirResponse body that is a single value (bundles, the load runner, the patient
// picker): stored text or a value to serialize. A streamed body (an NDJSON export) is not one
// value and is refused here: only the HTTP layer sends it.
import type { ResponseBody } from './types.js';

/** The body as JSON text. */
export function bodyText(body: ResponseBody): string {
  if (body.kind === 'raw') return body.text;
  if (body.kind === 'json') return JSON.stringify(body.value);
  throw new Error(`A streamed ${body.contentType} body is not a single value`);
}

/** The body as a parsed value. */
export function bodyValue(body: ResponseBody): unknown {
  if (body.kind === 'raw') return JSON.parse(body.text);
  if (body.kind === 'json') return body.value;
  throw new Error(`A streamed ${body.contentType} body is not a single value`);
}
