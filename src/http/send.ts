// FhirResponse -> bytes on the wire. Stored JSON text is sent as-is unless _pretty asks
// for indentation.
import type { Response } from 'express';
import type { ErrorReply } from '../core/errors.js';
import type { FhirResponse } from '../core/types.js';
import { bodyText } from '../core/response-body.js';
import type { ResponseMediaType } from './negotiation.js';

export function sendFhir(res: Response, response: FhirResponse, type: ResponseMediaType, pretty: boolean, head: boolean): void {
  res.status(response.status);
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  if (!response.body) {
    res.end();
    return;
  }
  let text = bodyText(response.body);
  if (pretty) text = JSON.stringify(JSON.parse(text), null, 2);
  res.setHeader('Content-Type', `${type}; charset=utf-8`);
  const bytes = Buffer.from(text, 'utf8');
  res.setHeader('Content-Length', bytes.length);
  // res.end, not res.send: no Express ETag or freshness logic over the FHIR semantics.
  res.end(head ? undefined : bytes);
}

/** A failure, already converted by toOutcome (core/errors.ts), as its OperationOutcome. */
export function sendOutcome(res: Response, reply: ErrorReply, type: ResponseMediaType = 'application/fhir+json'): void {
  sendFhir(res, { status: reply.status, headers: reply.headers, body: { kind: 'json', value: reply.outcome } }, type, false, false);
}
