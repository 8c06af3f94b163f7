// Unit tests for src/core/date-range.ts: FHIR date/dateTime/instant values as half-open
// ranges (FHIR R4 search.html#date; datatypes.html#dateTime for what is a valid value).
import assert from 'node:assert/strict';
import { parseDateRange } from '../../src/core/date-range.js';
import { FhirError } from '../../src/core/errors.js';

function range(value: string): [string, string] {
  const r = parseDateRange(value, '_since');
  return [r.start.toISOString(), r.end.toISOString()];
}

function refused(value: string, param: string, diagnostics: RegExp): void {
  assert.throws(
    () => parseDateRange(value, param),
    (error: unknown) => {
      assert.ok(error instanceof FhirError, `expected FhirError for '${value}', got ${String(error)}`);
      assert.equal(error.status, 400);
      assert.equal(error.outcome.issue.length, 1);
      const [issue] = error.outcome.issue;
      assert.equal(issue.code, 'invalid');
      assert.deepEqual(issue.expression, [param]);
      assert.match(issue.diagnostics ?? '', diagnostics);
      assert.ok(issue.diagnostics?.startsWith(`${param}: '${value}'`), issue.diagnostics);
      return true;
    },
    `'${value}' must be refused`,
  );
}

describe('parseDateRange', () => {
  describe('precision', () => {
    it('year covers the whole year', () => {
      assert.deepEqual(range('2023'), ['2023-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z']);
      assert.deepEqual(range('2024'), ['2024-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z']);
    });

    it('month covers the whole month, including February of a leap year', () => {
      assert.deepEqual(range('2023-01'), ['2023-01-01T00:00:00.000Z', '2023-02-01T00:00:00.000Z']);
      assert.deepEqual(range('2024-02'), ['2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z']);
      assert.deepEqual(range('2023-04'), ['2023-04-01T00:00:00.000Z', '2023-05-01T00:00:00.000Z']);
    });

    it('December rolls over into January of the next year', () => {
      assert.deepEqual(range('2023-12'), ['2023-12-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z']);
      assert.deepEqual(range('2023-12-31'), ['2023-12-31T00:00:00.000Z', '2024-01-01T00:00:00.000Z']);
    });

    it('day covers 24 hours', () => {
      assert.deepEqual(range('2023-06-15'), ['2023-06-15T00:00:00.000Z', '2023-06-16T00:00:00.000Z']);
      assert.deepEqual(range('2024-02-29'), ['2024-02-29T00:00:00.000Z', '2024-03-01T00:00:00.000Z']);
    });

    it('minute covers 60 seconds', () => {
      assert.deepEqual(range('2023-06-15T10:30Z'), ['2023-06-15T10:30:00.000Z', '2023-06-15T10:31:00.000Z']);
      assert.deepEqual(range('2023-06-15T23:59Z'), ['2023-06-15T23:59:00.000Z', '2023-06-16T00:00:00.000Z']);
    });

    it('second covers one second', () => {
      assert.deepEqual(range('2023-06-15T10:30:45Z'), ['2023-06-15T10:30:45.000Z', '2023-06-15T10:30:46.000Z']);
      assert.deepEqual(range('2023-12-31T23:59:59Z'), ['2023-12-31T23:59:59.000Z', '2024-01-01T00:00:00.000Z']);
    });

    it('fractional seconds cover one unit of the given precision (down to milliseconds)', () => {
      assert.deepEqual(range('2023-06-15T10:30:45.123Z'), ['2023-06-15T10:30:45.123Z', '2023-06-15T10:30:45.124Z']);
      assert.deepEqual(range('2023-06-15T10:30:45.12Z'), ['2023-06-15T10:30:45.120Z', '2023-06-15T10:30:45.130Z']);
      assert.deepEqual(range('2023-06-15T10:30:45.5Z'), ['2023-06-15T10:30:45.500Z', '2023-06-15T10:30:45.600Z']);
      assert.deepEqual(range('2023-06-15T10:30:45.000Z'), ['2023-06-15T10:30:45.000Z', '2023-06-15T10:30:45.001Z']);
      // Beyond milliseconds a Date cannot say more: the millisecond that contains the instant.
      assert.deepEqual(range('2023-06-15T10:30:45.123456Z'), ['2023-06-15T10:30:45.123Z', '2023-06-15T10:30:45.124Z']);
    });

    it('every millisecond fraction is read exactly (no floating-point drift)', () => {
      for (let ms = 0; ms < 1000; ms++) {
        const frac = String(ms).padStart(3, '0');
        assert.equal(parseDateRange(`2023-06-15T10:30:45.${frac}Z`, '_at').start.getUTCMilliseconds(), ms, frac);
      }
    });

    it('ignores surrounding blanks', () => {
      assert.deepEqual(range(' 2023-06 '), ['2023-06-01T00:00:00.000Z', '2023-07-01T00:00:00.000Z']);
    });
  });

  describe('time zones', () => {
    it('converts offsets to UTC', () => {
      assert.deepEqual(range('2023-06-15T10:30:00+02:00'), ['2023-06-15T08:30:00.000Z', '2023-06-15T08:30:01.000Z']);
      assert.deepEqual(range('2023-06-15T10:30:00-05:30'), ['2023-06-15T16:00:00.000Z', '2023-06-15T16:00:01.000Z']);
      assert.deepEqual(range('2023-06-15T10:30+14:00'), ['2023-06-14T20:30:00.000Z', '2023-06-14T20:31:00.000Z']);
      assert.deepEqual(range('2023-06-15T10:30:00+00:00'), range('2023-06-15T10:30:00Z'));
      assert.deepEqual(range('2023-06-15T10:30:00-00:00'), range('2023-06-15T10:30:00Z'));
    });

    it('an offset can move the instant into the previous day, month and year', () => {
      assert.deepEqual(range('2023-01-01T00:30:00+01:00'), ['2022-12-31T23:30:00.000Z', '2022-12-31T23:30:01.000Z']);
      assert.deepEqual(range('2023-12-31T23:30:00.250-01:00'), ['2024-01-01T00:30:00.250Z', '2024-01-01T00:30:00.251Z']);
    });

    it('a time without a zone → 400 naming the parameter', () => {
      refused('2023-06-15T10:30', '_since', /has a time but no time zone/);
      refused('2023-06-15T10:30:45', '_at', /has a time but no time zone/);
      refused('2023-06-15T10:30:45.123', 'date', /has a time but no time zone/);
    });
  });

  describe('invalid values → 400 naming the parameter', () => {
    it('impossible calendar dates', () => {
      refused('2023-02-30', '_since', /is not a real calendar date/);
      refused('2023-02-29', '_at', /is not a real calendar date/);
      refused('2023-04-31', '_since', /is not a real calendar date/);
      refused('2023-01-00', '_since', /is not a real calendar date/);
      refused('2023-13', '_since', /is not a real calendar date/);
      refused('2023-13-01', '_since', /is not a real calendar date/);
    });

    it('malformed text', () => {
      for (const bad of ['', 'abc', '2023-1', '2023-1-01', '20230101', '2023-06-15T10Z', '2023-06-15 10:30Z', '23', '2023-06-15T10:30:45,1Z', '2023-06-15T10:30+0200']) {
        refused(bad, '_since', /is not a valid FHIR date or dateTime/);
      }
    });

    it('month 00', () => {
      refused('2023-00', '_since', /is not a (real calendar date|valid FHIR date)/);
      refused('2023-00-15', '_since', /is not a (real calendar date|valid FHIR date)/);
    });

    it('hours, minutes and seconds out of range', () => {
      refused('2023-06-15T24:00Z', '_since', /has a time out of range/);
      refused('2023-06-15T25:00:00Z', '_since', /has a time out of range/);
      refused('2023-06-15T10:60Z', '_since', /has a time out of range/);
      refused('2023-06-15T10:30:61Z', '_since', /has a time out of range/);
    });

    it('time-zone offsets out of range (FHIR allows -13:59 to +14:00)', () => {
      refused('2023-06-15T10:30:00+25:00', '_since', /time-zone offset out of range/);
      refused('2023-06-15T10:30:00+02:75', '_since', /time-zone offset out of range/);
    });
  });

  it('years 0001-0099 keep their value (not read as 19xx)', () => {
    const r = parseDateRange('0050', '_since');
    assert.equal(r.start.getUTCFullYear(), 50);
    assert.equal(r.end.getUTCFullYear(), 51);
  });
});
