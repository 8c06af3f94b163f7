// Unit tests for src/search/params/near.ts (FHIR R4 search.html#special, Location-near):
// parsing `lat|long|distance|units`, index entries from Location.position, the bounding box
// (antimeridian, poles) and the in-memory haversine matcher. The SQL is checked against the
// matcher on PostgreSQL in test/integration/search/near-sql-vs-memory.test.ts.
import assert from 'node:assert/strict';
import { boundingBox, DEFAULT_DISTANCE_KM, EARTH_RADIUS_KM, haversine, nearParam, type NearValue } from '../../../../src/search/params/near.js';
import { moduleFor } from '../../../../src/search/params/modules.js';
import type { SearchIndex, SearchParamDef } from '../../../../src/search/types.js';
import { assertBadRequest, assertOnlyPlaceholders, TestBinds } from './support.js';

const near: SearchParamDef = { code: 'near', type: 'special', url: 'http://hl7.org/fhir/SearchParameter/Location-near', resourceType: 'Location', expression: 'Location.position', targets: [], extract: () => [] };

const AMSTERDAM = [52.3676, 4.9041] as const;
const HAARLEM = { latitude: 52.3874, longitude: 4.6462 }; // 17.64 km from Amsterdam
const UTRECHT = { latitude: 52.0907, longitude: 5.1214 }; // 34.16 km
const ROTTERDAM = { latitude: 51.9244, longitude: 4.4777 }; // 57.23 km

const parse = (raw: string, modifier?: string) => nearParam.parse(near, modifier, raw) as NearValue;
const km = (a: readonly [number, number], b: { latitude: number; longitude: number }) =>
  2 * EARTH_RADIUS_KM * Math.asin(Math.sqrt(haversine(a[0], a[1], b.latitude, b.longitude)));

function indexOf(...positions: unknown[]): SearchIndex {
  const into: SearchIndex = {};
  nearParam.index(near, positions, into);
  return into;
}

const matches = (index: SearchIndex, ...raws: string[]) => nearParam.matches(near, undefined, raws.map((raw) => parse(raw)), index);

describe('near (Location, search.html#special)', () => {
  it('is the module of special parameters', () => {
    assert.equal(moduleFor('special'), nearParam);
  });

  it('parses lat|long|distance|units into km; units default to km, distance to 5 km', () => {
    assert.deepEqual(parse('52.3676|4.9041|10|km'), { raw: '52.3676|4.9041|10|km', latitude: 52.3676, longitude: 4.9041, km: 10 });
    assert.equal(parse('52|4|10').km, 10);
    assert.equal(parse('52|4|1500|m').km, 1.5);
    assert.equal(parse('52|4|10|[mi_i]').km, 16.09344);
    assert.equal(parse('52|4|10|mi').km, 16.09344);
    assert.equal(parse('52|4').km, DEFAULT_DISTANCE_KM);
    assert.equal(parse('52|4||m').km, DEFAULT_DISTANCE_KM, 'without a distance, units are irrelevant');
    assert.equal(parse('-90|-180|0').km, 0);
    assert.equal(parse('90|180|1e3').km, 1000);
  });

  it('refuses malformed values with a 400 naming the parameter', () => {
    for (const bad of ['', '52', '52|', '|4', '52|4|10|km|x', 'abc|4', '52|east', '91|0', '-90.5|0', '0|180.1', '52|4|-1', '52|4|ten', '52|4|10|furlong', '52|4|10|KM', '52|4|gt10', '1e999|0', 'NaN|0', '0x10|0']) {
      assertBadRequest(() => parse(bad), 'near', undefined);
    }
    assertBadRequest(() => parse('52|4', 'exact'), 'near:exact', /not valid/);
    assertBadRequest(() => parse('maybe', 'missing'), 'near:missing', /true or false/);
  });

  it('refuses other special parameters as not supported', () => {
    const other: SearchParamDef = { ...near, code: 'custom-special' };
    assertBadRequest(() => nearParam.parse(other, undefined, '1|2'), 'custom-special', /not supported/, 'not-supported');
  });

  it('indexes [latitude, longitude] of a position, nothing for incomplete or out-of-range ones', () => {
    assert.deepEqual(indexOf({ latitude: 52.1, longitude: 4.2, altitude: 3 }), { near: [[52.1, 4.2]] });
    assert.deepEqual(indexOf({ latitude: 52.1 }, { longitude: 4 }, { latitude: '52', longitude: 4 }, { latitude: 95, longitude: 0 }, 'x', null), {});
    const other: SearchParamDef = { ...near, code: 'custom-special' };
    const into: SearchIndex = {};
    nearParam.index(other, [{ latitude: 1, longitude: 2 }], into);
    assert.deepEqual(into, {});
  });

  it('matches within the great-circle distance, with units conversion', () => {
    assert.ok(Math.abs(km(AMSTERDAM, HAARLEM) - 17.644) < 0.01);
    const haarlem = indexOf(HAARLEM);
    assert.equal(matches(haarlem, '52.3676|4.9041|17.7'), true);
    assert.equal(matches(haarlem, '52.3676|4.9041|17.6'), false);
    assert.equal(matches(haarlem, '52.3676|4.9041|17700|m'), true);
    assert.equal(matches(haarlem, '52.3676|4.9041|17600|m'), false);
    assert.equal(matches(haarlem, '52.3676|4.9041|11|[mi_i]'), true); // 17.70 km
    assert.equal(matches(haarlem, '52.3676|4.9041|10|mi'), false); // 16.09 km
    assert.equal(matches(haarlem, '52.3676|4.9041'), false, 'default 5 km');
    assert.equal(matches(indexOf(UTRECHT), '52.3676|4.9041|35'), true);
    assert.equal(matches(indexOf(ROTTERDAM), '52.3676|4.9041|35'), false);
    assert.equal(matches(indexOf(ROTTERDAM), '52.3676|4.9041|35', '51.9|4.5|5'), true, 'comma = OR');
    assert.equal(matches(indexOf(UTRECHT, ROTTERDAM), '51.9|4.5|5'), true, 'any position');
    assert.equal(matches({}, '52.3676|4.9041|20000'), false, 'no position, no match');
    assert.equal(matches(indexOf({ latitude: -33.87, longitude: 151.21 }), '52.3676|4.9041|20016'), true, 'half the circumference reaches everything');
  });

  it('handles the antimeridian and the poles', () => {
    const east = indexOf({ latitude: -17.7134, longitude: 179.9 });
    assert.equal(matches(east, '-17.7134|-179.9|22'), true); // 21.2 km across ±180°
    assert.equal(matches(east, '-17.7134|-179.9|20'), false);
    const box = boundingBox(parse('-17.7|179.9|50'));
    assert.ok(box.lon && box.lon.min > box.lon.max, 'the box wraps');
    const polar = indexOf({ latitude: 89.9, longitude: 180 });
    assert.equal(matches(polar, '89.9|0|23'), true); // 22.2 km over the pole
    assert.equal(matches(polar, '89.9|0|21'), false);
    assert.equal(boundingBox(parse('89.9|0|50')).lon, undefined, 'a pole inside the circle: any longitude');
  });

  it(':missing', () => {
    assert.equal(nearParam.matches(near, 'missing', [{ raw: 'true' }], {}), true);
    assert.equal(nearParam.matches(near, 'missing', [{ raw: 'false' }], indexOf(HAARLEM)), true);
  });

  it('binds every value: a bounding box in jsonpath (row filter, then entries), then the haversine test in SQL', () => {
    const binds = new TestBinds();
    const sql = nearParam.predicate(near, undefined, [parse('52.3676|4.9041|17.7'), parse('-17.7|179.9|50')], 'r.sp', binds);
    assert.match(sql, /^\(COALESCE\(jsonb_path_exists\(r\.sp, 'strict \$\."near"\[\*\] \? \(/);
    assert.match(sql, / AND EXISTS \(SELECT 1 FROM jsonb_path_query\(r\.sp, 'strict /);
    assert.match(sql, /\(@\[1\] >= \$v\d+ \|\| @\[1\] <= \$v\d+\)/, 'the wrapped box');
    assert.match(sql, /power\(sin\(radians/);
    assertOnlyPlaceholders(sql, ['52.3676', '4.9041', '179.9']);
    assert.ok(binds.values.includes(52.3676) && binds.values.includes(4.9041));
  });
});
