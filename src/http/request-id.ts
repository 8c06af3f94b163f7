// X-Request-Id: accepted from the client when it is short and plain, generated otherwise,
// and echoed on the response so logs on both sides can be joined.
import { randomUUID } from 'node:crypto';

const SANE = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && SANE.test(value) ? value : randomUUID();
}
