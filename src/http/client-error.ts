// Requests Node's HTTP parser refuses before any route runs (request line or headers over
// --max-http-header-size, malformed syntax): answered with an OperationOutcome like every other
// refusal (FHIR R4 http.html), instead of Node's bare status line. RFC 6585 §5: 431 for header
// fields too large; anything else the parser rejects is a 400.
import type { Duplex } from 'node:stream';
import { outcome } from '../core/errors.js';

interface ParserError extends Error {
  code?: string;
}

export function answerClientError(error: ParserError, socket: Duplex): void {
  // A peer that went away (ECONNRESET) or a socket already answered needs no reply.
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const reason = tooLarge ? 'Request Header Fields Too Large' : 'Bad Request';
  const diagnostics = tooLarge
    ? 'The request line and headers are larger than this server accepts'
    : 'The request is not valid HTTP/1.1';
  const body = JSON.stringify(outcome([{ severity: 'error', code: tooLarge ? 'too-long' : 'structure', diagnostics }]));
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/fhir+json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
