// HTTP plumbing shared by the SMART front-channel pages (issue 10): the security headers every
// page carries (a strict Content-Security-Policy with a per-response style nonce, no caching,
// no framing), the session cookie, and form bodies (application/x-www-form-urlencoded, HTML
// 4.01 section 17.13.4) read into URLSearchParams whether or not a parser ran before us.
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';

export const SESSION_COOKIE = 'hearth_authz';
export const MAX_FORM_BYTES = 32 * 1024;

/** Sets the page headers and returns the nonce the page's <style> must carry. */
export function pageHeaders(res: Response): string {
  const nonce = randomBytes(16).toString('base64');
  res.setHeader(
    'Content-Security-Policy',
    `default-src 'none'; style-src 'nonce-${nonce}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  );
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  return nonce;
}

/** Sends a page built with the nonce pageHeaders returned. */
export function sendPage(res: Response, status: number, build: (nonce: string) => string): void {
  const nonce = pageHeaders(res);
  res.status(status).type('text/html; charset=utf-8').send(build(nonce));
}

/** The value of cookie `name` in the request, if any. */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The session cookie: HttpOnly, SameSite=Lax (the app's redirect to us is a top-level GET), scoped to the tenant's /auth pages. */
export function sessionCookie(value: string, path: string, secure: boolean, maxAgeSeconds: number): string {
  return [`${SESSION_COOKIE}=${value}`, `Path=${path}`, `Max-Age=${maxAgeSeconds}`, 'HttpOnly', 'SameSite=Lax', ...(secure ? ['Secure'] : [])].join('; ');
}

export class FormError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a url-encoded form body (at most MAX_FORM_BYTES). */
export async function readForm(req: Request): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new FormError(415, 'Forms must be sent as application/x-www-form-urlencoded.');
  const body: unknown = req.body;
  if (Buffer.isBuffer(body)) {
    if (body.length > MAX_FORM_BYTES) throw new FormError(413, 'The form is too large.');
    return new URLSearchParams(body.toString('utf8'));
  }
  if (body && typeof body === 'object') {
    // A urlencoded parser ran before this router: rebuild the pairs, repeated fields included.
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
      for (const v of Array.isArray(value) ? value : [value]) if (typeof v === 'string') params.append(name, v);
    }
    return params;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new FormError(413, 'The form is too large.');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
