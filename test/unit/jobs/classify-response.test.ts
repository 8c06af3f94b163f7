// src/jobs/transport/classify-response.ts: a partner's status, Retry-After and body as a
// DeliveryResult (RFC 9110 sections 10.2.3 and 5.6.7 for Retry-After).
import assert from 'node:assert/strict';
import { classifyNetworkError, classifyResponse, parseHttpDate, parseRetryAfter, timeoutError } from '../../../src/jobs/transport/classify-response.js';

const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);

describe('classify-response', () => {
  describe('parseRetryAfter', () => {
    it('reads delta-seconds', () => {
      assert.equal(parseRetryAfter('120', NOW), 120_000);
      assert.equal(parseRetryAfter(' 0 ', NOW), 0);
    });

    it('reads the three HTTP-date forms a recipient must accept, as UTC', () => {
      assert.equal(parseRetryAfter('Fri, 02 Jan 2026 03:05:05 GMT', NOW), 60_000);
      assert.equal(parseRetryAfter('Friday, 02-Jan-26 03:05:35 GMT', NOW), 90_000);
      assert.equal(parseRetryAfter('Fri Jan  2 03:06:05 2026', NOW), 120_000);
    });

    it('a date in the past is 0; missing or malformed is undefined', () => {
      assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:00 GMT', NOW), 0);
      for (const value of [undefined, null, '', '-5', '1.5', 'soon', 'Fri, 02 Foo 2026 03:05:05 GMT', '2026-01-02T03:05:05Z']) {
        assert.equal(parseRetryAfter(value, NOW), undefined, String(value));
      }
    });

    it('reads a two-digit RFC 850 year as the most recent matching past year beyond 50 years ahead', () => {
      assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW), Date.UTC(1994, 10, 6, 8, 49, 37));
      assert.equal(parseHttpDate('Monday, 06-Nov-50 08:49:37 GMT', NOW), Date.UTC(2050, 10, 6, 8, 49, 37));
    });
  });

  describe('classifyResponse', () => {
    it('2xx is delivered', () => {
      for (const status of [200, 201, 202, 204]) assert.deepEqual(classifyResponse({ status }), { kind: 'delivered', status });
    });

    it('408, 409, 429 and 5xx are retried; Retry-After only counts on 429 and 503', () => {
      assert.deepEqual(classifyResponse({ status: 429, retryAfter: '10' }, NOW), { kind: 'retry', status: 429, reason: 'the partner answered 429', retryAfterMs: 10_000 });
      assert.deepEqual(classifyResponse({ status: 503, retryAfter: '2' }, NOW), { kind: 'retry', status: 503, reason: 'the partner answered 503', retryAfterMs: 2000 });
      for (const status of [408, 409, 500, 502, 504]) {
        assert.deepEqual(classifyResponse({ status, retryAfter: '10' }, NOW), { kind: 'retry', status, reason: `the partner answered ${status}` });
      }
    });

    it('other 4xx are rejected with the OperationOutcome (text or parsed) and its first issue in the reason', () => {
      const outcome = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', details: { text: 'bad lot number' } }] };
      assert.deepEqual(classifyResponse({ status: 422, body: JSON.stringify(outcome) }), { kind: 'reject', status: 422, reason: 'the partner answered 422: bad lot number', outcome });
      assert.deepEqual(classifyResponse({ status: 400, body: outcome }), { kind: 'reject', status: 400, reason: 'the partner answered 400: bad lot number', outcome });
      assert.deepEqual(classifyResponse({ status: 403, body: '{"resourceType":"Patient"}' }), { kind: 'reject', status: 403, reason: 'the partner answered 403' });
      assert.deepEqual(classifyResponse({ status: 401, body: '<html>' }), { kind: 'reject', status: 401, reason: 'the partner answered 401' });
    });

    it('a 5xx names the OperationOutcome in its reason too', () => {
      const body = JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'fatal', code: 'exception', diagnostics: 'database down' }] });
      assert.deepEqual(classifyResponse({ status: 500, body }), { kind: 'retry', status: 500, reason: 'the partner answered 500: database down' });
    });

    it('3xx is rejected (redirects are not followed), naming the Location', () => {
      assert.deepEqual(classifyResponse({ status: 301, location: 'https://elsewhere.example.org/' }), {
        kind: 'reject',
        status: 301,
        reason: 'the partner answered a redirect (301) to https://elsewhere.example.org/, which is not followed',
      });
      assert.equal(classifyResponse({ status: 304 }).kind, 'reject');
    });
  });

  describe('classifyNetworkError', () => {
    it('a timeout is a retry with reason "timeout"; other errors name their code', () => {
      assert.deepEqual(classifyNetworkError(timeoutError(100)), { kind: 'retry', reason: 'timeout' });
      const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
      assert.deepEqual(classifyNetworkError(new TypeError('fetch failed', { cause: refused })), { kind: 'retry', reason: 'network error: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:1' });
    });
  });
});
