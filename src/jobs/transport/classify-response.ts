// What a partner's answer means for a delivery (issue 13, docs/sync.md), shared by every HTTP
// transport: 2xx delivered; 408, 409, 429 and 5xx worth retrying (with Retry-After on 429 and 503,
// RFC 9110 section 10.2.3, as delta-seconds or an HTTP-date, section 5.6.7); any other 4xx, and a
// 3xx (redirects are never followed: an endpoint must not send Hearth elsewhere), refused for good,
// carrying the partner's OperationOutcome when its body is one (R4 operationoutcome.html).
// Network errors and timeouts are worth retrying.
import type { DeliveryResult } from '../delivery/contracts.js';

export interface PartnerAnswer {
  status: number;
  /** The Retry-After header, when sent. */
  retryAfter?: string | null;
  /** The Location header (named in the reason of a redirect). */
  location?: string | null;
  /** The body: text (parsed here when JSON) or already parsed. */
  body?: unknown;
}

const RETRYABLE_4XX = new Set([408, 409, 429]);
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

// RFC 9110 section 5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must accept.
const IMF_FIXDATE = /^[a-z]{3}, (\d{2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
const RFC850_DATE = /^[a-z]{6,9}, (\d{2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
const ASCTIME_DATE = /^[a-z]{3} ([a-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i;

function utc(year: number, month: string, day: number, h: number, m: number, s: number): number | undefined {
  const monthIndex = MONTHS.indexOf(month.toLowerCase());
  if (monthIndex < 0 || day < 1 || day > 31 || h > 23 || m > 59 || s > 60) return undefined;
  return Date.UTC(year, monthIndex, day, h, m, s);
}

/** An HTTP-date (RFC 9110 section 5.6.7) as epoch ms, or undefined. */
export function parseHttpDate(value: string, now: number = Date.now()): number | undefined {
  const text = value.trim();
  let match = IMF_FIXDATE.exec(text);
  if (match) return utc(Number(match[3]), match[2], Number(match[1]), Number(match[4]), Number(match[5]), Number(match[6]));
  match = RFC850_DATE.exec(text);
  if (match) {
    // A two-digit year more than 50 years in the future is the most recent past year with those digits.
    const currentYear = new Date(now).getUTCFullYear();
    let year = Math.floor(currentYear / 100) * 100 + Number(match[3]);
    if (year > currentYear + 50) year -= 100;
    return utc(year, match[2], Number(match[1]), Number(match[4]), Number(match[5]), Number(match[6]));
  }
  match = ASCTIME_DATE.exec(text);
  if (match) return utc(Number(match[6]), match[1], Number(match[2].trim()), Number(match[3]), Number(match[4]), Number(match[5]));
  return undefined;
}

/** Retry-After (RFC 9110 section 10.2.3) as ms from `now`: delta-seconds or an HTTP-date (a past date is 0); undefined when absent or malformed. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = parseHttpDate(text, now);
  return at === undefined ? undefined : Math.max(0, at - now);
}

/** The body as JSON when it is JSON text or already parsed; undefined otherwise. */
function parsedBody(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

interface OutcomeLike {
  resourceType: 'OperationOutcome';
  issue?: { severity?: string; code?: string; diagnostics?: string; details?: { text?: string } }[];
}

function asOperationOutcome(body: unknown): OutcomeLike | undefined {
  const value = parsedBody(body);
  return typeof value === 'object' && value !== null && (value as { resourceType?: unknown }).resourceType === 'OperationOutcome'
    ? (value as OutcomeLike)
    : undefined;
}

/** The first issue's words, for a reason an operator reads. */
function outcomeSummary(outcome: OutcomeLike | undefined): string {
  const issue = Array.isArray(outcome?.issue) ? outcome.issue[0] : undefined;
  const text = issue?.diagnostics ?? issue?.details?.text ?? issue?.code;
  return typeof text === 'string' && text ? `: ${text.slice(0, 500)}` : '';
}

/** The DeliveryResult of a partner's HTTP answer. */
export function classifyResponse(answer: PartnerAnswer, now: number = Date.now()): DeliveryResult {
  const { status } = answer;
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status >= 300 && status < 400) {
    const to = answer.location ? ` to ${answer.location}` : '';
    return { kind: 'reject', status, reason: `the partner answered a redirect (${status})${to}, which is not followed` };
  }
  const outcome = asOperationOutcome(answer.body);
  const summary = outcomeSummary(outcome);
  if (RETRYABLE_4XX.has(status) || (status >= 500 && status < 600)) {
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(answer.retryAfter, now) : undefined;
    return { kind: 'retry', status, reason: `the partner answered ${status}${summary}`, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  return { kind: 'reject', status, reason: `the partner answered ${status}${summary}`, ...(outcome ? { outcome } : {}) };
}

/** The DeliveryResult of a request that got no answer: a network error or a timeout, worth retrying. */
export function classifyNetworkError(error: unknown): Extract<DeliveryResult, { kind: 'retry' }> {
  if (isTimeout(error)) return { kind: 'retry', reason: 'timeout' };
  const cause = (error as { cause?: unknown }).cause ?? error;
  const code = (cause as { code?: unknown }).code;
  const message = cause instanceof Error ? cause.message : String(cause);
  return { kind: 'retry', reason: `network error: ${typeof code === 'string' ? `${code} ` : ''}${message}`.trim() };
}

/** A timeout raised by a transport (name 'TimeoutError', as AbortSignal.timeout raises). */
export function isTimeout(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'TimeoutError';
}

/** An error named TimeoutError, as transports raise when deliveryTimeoutMs passes. */
export function timeoutError(ms: number): Error {
  const error = new Error(`no answer within ${ms} ms`);
  error.name = 'TimeoutError';
  return error;
}
