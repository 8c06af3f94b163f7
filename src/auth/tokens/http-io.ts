// Reading and answering the OAuth endpoints over HTTP (RFC 6749 section 3.2 and 5.1-5.2):
// form bodies (application/x-www-form-urlencoded, each parameter at most once), JSON answers
// with Cache-Control: no-store and Pragma: no-cache, RFC 6749 error bodies.
import type { Request, Response } from 'express';
import { OAuthError, invalidRequest } from './oauth-error.js';

const MAX_FORM_BYTES = 64 * 1024;

export async function bodyBytes(req: Request): Promise<Buffer> {
  const body: unknown = req.body;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (req.readableEnded) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw invalidRequest('the request body is too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The form parameters of a POST; a parameter given twice is an invalid_request (RFC 6749 section 3.2). */
export async function readForm(req: Request): Promise<URLSearchParams> {
  const type = (req.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw invalidRequest('the body must be application/x-www-form-urlencoded');
  let form: URLSearchParams;
  const body: unknown = req.body;
  if (body !== null && typeof body === 'object' && !Buffer.isBuffer(body)) {
    // Already parsed by an urlencoded middleware.
    form = new URLSearchParams();
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
      for (const value of Array.isArray(v) ? v : [v]) form.append(k, String(value));
    }
  } else {
    const bytes = await bodyBytes(req);
    if (bytes.length > MAX_FORM_BYTES) throw invalidRequest('the request body is too large');
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw invalidRequest('the body is not valid UTF-8');
    }
    form = new URLSearchParams(text);
  }
  const seen = new Set<string>();
  for (const key of form.keys()) {
    if (seen.has(key)) throw invalidRequest(`parameter ${key} is given more than once`);
    seen.add(key);
  }
  return form;
}

export function noStore(res: Response): void {
  res.set('Cache-Control', 'no-store');
  res.set('Pragma', 'no-cache');
}

export function sendJson(res: Response, status: number, body: unknown): void {
  noStore(res);
  res.status(status).type('application/json').send(JSON.stringify(body));
}

/** Sends an OAuthError; anything else is rethrown for the server's error handler. */
export function sendOAuthError(res: Response, error: unknown): void {
  if (!(error instanceof OAuthError)) throw error;
  for (const [name, value] of Object.entries(error.headers)) res.set(name, value);
  sendJson(res, error.status, error.body());
}

/** Public, cacheable-for-a-while documents (discovery, JWKS) any origin may read (no credentials involved). */
export function sendPublicJson(res: Response, body: unknown, maxAgeSeconds: number): void {
  res.set('Access-Control-Allow-Origin', '*');
  res.set('Cache-Control', `public, max-age=${maxAgeSeconds}`);
  res.status(200).type('application/json').send(JSON.stringify(body));
}
