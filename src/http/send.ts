// FhirResponse -> bytes on the wire. Stored JSON text is sent as-is unless _pretty asks
// for indentation. A streamed body (an NDJSON export) is written chunk by chunk as it is
// produced (RFC 9112 §7.1 chunked transfer coding, no Content-Length), pulling the next chunk
// only when the socket has taken the previous ones, so memory does not grow with its size.
import type { Response } from 'express';
import type { ErrorReply } from '../core/errors.js';
import type { FhirResponse, ResponseBody } from '../core/types.js';
import { bodyText } from '../core/response-body.js';
import type { ResponseMediaType } from './negotiation.js';

/** Told about a streamed body that failed after its headers were sent (the response is cut short). */
export type StreamFailure = (error: unknown) => void;

export function sendFhir(
  res: Response,
  response: FhirResponse,
  type: ResponseMediaType,
  pretty: boolean,
  head: boolean,
  onStreamFailure: StreamFailure = () => undefined,
): void {
  res.status(response.status);
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  if (!response.body) {
    res.end();
    return;
  }
  if (response.body.kind === 'stream') {
    void sendStream(res, response.body, head, onStreamFailure);
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

/**
 * Sends a streamed body; never rejects. Backpressure: after a write() that returns false, waits
 * for 'drain' before pulling again. A client that disconnects stops the pulling, and the
 * producer's return() releases what it holds. A producer that fails mid-stream gets the socket
 * destroyed, so the client sees a truncated chunked response (no terminating chunk), never a
 * clean end that would pass for the whole export; the failure goes to `onFailure`.
 */
export async function sendStream(
  res: Response,
  body: Extract<ResponseBody, { kind: 'stream' }>,
  head: boolean,
  onFailure: StreamFailure,
): Promise<void> {
  res.setHeader('Content-Type', `${body.contentType}; charset=utf-8`);
  res.removeHeader('Content-Length');
  const iterator = body.chunks[Symbol.asyncIterator]();
  if (head) {
    res.end();
    await stop(iterator, onFailure);
    return;
  }
  // One listener each for the whole response (compression re-targets 'drain' listeners to its
  // zlib stream, where a per-wait once() wrapper would never be removed).
  let gone = false;
  let wake: (() => void) | undefined;
  const onClose = () => {
    gone = !res.writableFinished;
    wake?.();
  };
  const onDrain = () => wake?.();
  res.on('close', onClose);
  res.on('drain', onDrain);
  const clientGone = () => gone || res.destroyed;
  try {
    res.flushHeaders();
    for (;;) {
      if (clientGone()) break;
      const next = await iterator.next();
      if (next.done) {
        res.end();
        return;
      }
      if (clientGone()) break;
      if (!res.write(next.value) && !clientGone()) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    }
  } catch (error) {
    // The producer failed (its iterator is finished): cut the response short.
    res.destroy();
    onFailure(error);
    return;
  } finally {
    res.off('close', onClose);
    res.off('drain', onDrain);
  }
  await stop(iterator, onFailure);
}

/** The consumer stops early: the producer's return() runs its cleanup. */
async function stop(iterator: AsyncIterator<string>, onFailure: StreamFailure): Promise<void> {
  try {
    await iterator.return?.();
  } catch (error) {
    onFailure(error);
  }
}

/** A failure, already converted by toOutcome (core/errors.ts), as its OperationOutcome. */
export function sendOutcome(res: Response, reply: ErrorReply, type: ResponseMediaType = 'application/fhir+json'): void {
  sendFhir(res, { status: reply.status, headers: reply.headers, body: { kind: 'json', value: reply.outcome } }, type, false, false);
}
