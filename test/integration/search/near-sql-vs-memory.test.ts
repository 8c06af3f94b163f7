// Property test on real PostgreSQL for `near` (src/search/params/near.ts; FHIR R4
// search.html#special): the SQL predicate (jsonpath bounding box + haversine in float8)
// selects exactly the rows the in-memory matcher accepts, for seeded random positions
// clustered around query points (so distances fall on both sides of the limit), near the
// antimeridian and the poles, with several positions, none, or a NULL index, against every
// unit, comma ORs and :missing.
// Seed: HEARTH_NEAR_SEED (default below), printed in the title to reproduce a failure.
import assert from 'node:assert/strict';
import { nearParam } from '../../../src/search/params/near.js';
import type { ParsedValue, SearchIndex, SearchParamDef, SqlBinds } from '../../../src/search/types.js';
import { testPool } from '../../support/database.js';
import { prng, type Rng } from '../../support/prng.js';
import { requireServices } from '../../support/services.js';
import { SpTable, type SpRow } from '../../support/sp-table.js';

const SEED = Number(process.env.HEARTH_NEAR_SEED ?? 20261124);
const near: SearchParamDef = { code: 'near', type: 'special', url: 'http://hl7.org/fhir/SearchParameter/Location-near', resourceType: 'Location', expression: 'Location.position', targets: [], extract: () => [] };

/** Centres the rows cluster around and the queries start from: ordinary, antimeridian, polar. */
const CENTRES: [number, number][] = [[52.37, 4.9], [-17.7, 179.95], [0, -179.99], [89.95, 30], [-89.9, -120], [40.7, -74]];
const UNITS = ['', 'km', 'm', '[mi_i]', 'mi'];
const pick = <T>(r: Rng, list: readonly T[]): T => list[Math.floor(r() * list.length)];
const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** A point up to ~`spread` degrees from a centre, wrapped into the valid ranges. */
function around(r: Rng, [lat, lon]: [number, number], spread: number): [number, number] {
  const la = Math.max(-90, Math.min(90, lat + (r() - 0.5) * 2 * spread));
  let lo = lon + (r() - 0.5) * 2 * spread * 3;
  if (lo > 180) lo -= 360;
  if (lo < -180) lo += 360;
  return [round(la, 5), round(lo, 5)];
}

function rows(r: Rng, n: number): SpRow[] {
  const out: SpRow[] = [];
  for (let i = 0; i < n; i++) {
    const positions = Array.from({ length: r() < 0.1 ? 0 : r() < 0.85 ? 1 : 2 }, () => {
      const [latitude, longitude] = around(r, pick(r, CENTRES), pick(r, [0.05, 0.5, 2]));
      return { latitude, longitude };
    });
    const index: SearchIndex = {};
    nearParam.index(near, positions, index);
    out.push({ id: `l${String(i).padStart(4, '0')}`, index });
  }
  for (let i = 0; i < 4; i++) out.push({ id: `null${i}`, index: {}, nullSp: true });
  return out;
}

function queryValue(r: Rng): string {
  const [lat, lon] = around(r, pick(r, CENTRES), 0.2);
  if (r() < 0.1) return `${lat}|${lon}`;
  const unit = pick(r, UNITS);
  const km = pick(r, [0.5, 5, 20, 60, 150, 400]) * (0.5 + r());
  const perUnit = unit === 'm' ? 0.001 : unit === '[mi_i]' || unit === 'mi' ? 1.609344 : 1;
  return `${lat}|${lon}|${round(km / perUnit, 3)}${unit ? `|${unit}` : ''}`;
}

describe(`near: SQL = in-memory matcher (integration, seed ${SEED})`, function () {
  const rng = prng(SEED);
  const data = rows(rng, 400);
  let table: SpTable | undefined;

  before(async function () {
    await requireServices(this);
    table = await SpTable.create(await testPool(), 'near', data);
  });

  after(async () => {
    await table?.drop();
  });

  it('every query returns the same ids from SQL and memory', async () => {
    const raws = Array.from({ length: 300 }, () => (rng() < 0.15 ? `${queryValue(rng)},${queryValue(rng)}` : queryValue(rng)));
    const queries = [...raws.map((raw) => ({ modifier: undefined as string | undefined, raw })), { modifier: 'missing', raw: 'true' }, { modifier: 'missing', raw: 'false' }].map(({ modifier, raw }) => {
      const values = raw.split(',').map((v): ParsedValue => nearParam.parse(near, modifier, v));
      return {
        label: `near${modifier ? `:${modifier}` : ''}=${raw}`,
        predicate: (binds: SqlBinds) => nearParam.predicate(near, modifier, values, 'r.sp', binds),
        matches: (index: SearchIndex) => nearParam.matches(near, modifier, values, index),
      };
    });
    let informative = 0;
    for (const result of await table!.compare(queries, 60)) {
      table!.assertSame(result, (row) => row.index.near);
      if (table!.splits(result.memory)) informative++;
    }
    assert.ok(informative > queries.length * 0.6, `only ${informative} of ${queries.length} queries split the rows`);
  });
});
