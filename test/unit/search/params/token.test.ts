// Unit tests for src/search/params/token.ts (FHIR R4 search.html#token, #modifiers, #escaping).
import assert from 'node:assert/strict';
import { codesDrawn, tokenParam, type TokenValue } from '../../../../src/search/params/token.js';
import type { SearchIndex } from '../../../../src/search/types.js';
import { assertBadRequest, assertOnlyPlaceholders, paramDef, TestBinds } from './support.js';

const code = paramDef('code', 'token');
const identifier = paramDef('identifier', 'token');

function indexOf(values: unknown[], def = code): SearchIndex {
  const into: SearchIndex = {};
  tokenParam.index(def, values, into);
  return into;
}

const parse = (raw: string, modifier?: string, def = code) => tokenParam.parse(def, modifier, raw);

function sql(modifier: string | undefined, raws: string[], def = code) {
  const binds = new TestBinds();
  const values = modifier === 'missing' ? raws.map((raw) => ({ raw })) : raws.map((raw) => parse(raw, modifier, def));
  return { text: tokenParam.predicate(def, modifier, values, 'r.sp', binds), binds: binds.values };
}

function matches(index: SearchIndex, modifier: string | undefined, raws: string[], def = code): boolean {
  const values: TokenValue[] = modifier === 'missing' ? raws.map((raw) => ({ raw })) : raws.map((raw) => parse(raw, modifier, def));
  return tokenParam.matches(def, modifier, values, index);
}

describe('token parameters', () => {
  describe('index', () => {
    it('indexes a Coding as system and code, and its display as text', () => {
      assert.deepEqual(indexOf([{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }]), {
        code: [{ s: 'http://loinc.org', c: '8867-4' }],
        'code:text': ['heart rate'],
      });
    });

    it('indexes every coding and the text of a CodeableConcept', () => {
      const concept = {
        coding: [
          { system: 'http://snomed.info/sct', code: '22298006', display: 'Myocardial Infarction' },
          { code: 'MI' },
        ],
        text: '  Infarctus   du MYOCARDE (crème) ',
      };
      assert.deepEqual(indexOf([concept]), {
        code: [
          { s: 'http://snomed.info/sct', c: '22298006' },
          { s: null, c: 'MI' },
        ],
        'code:text': ['myocardial infarction', 'infarctus du myocarde (creme)'],
      });
    });

    it('indexes an Identifier by system and value, its type for :of-type and :text', () => {
      const id = {
        system: 'http://hospital.example/mrn',
        value: 'A-123',
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }], text: 'Médical record' },
      };
      assert.deepEqual(indexOf([id, { value: 'B 7' }], identifier), {
        identifier: [
          { s: 'http://hospital.example/mrn', c: 'A-123' },
          { s: null, c: 'B 7' },
        ],
        'identifier:text': ['medical record'],
        'identifier:of-type': [{ s: 'http://terminology.hl7.org/CodeSystem/v2-0203', c: 'MR', v: 'A-123' }],
      });
    });

    it('indexes booleans, codes and ContactPoints without a system', () => {
      assert.deepEqual(indexOf([true, false, 'male', { system: 'phone', value: '+1 555', use: 'home' }]), {
        code: [
          { s: null, c: 'true' },
          { s: null, c: 'false' },
          { s: null, c: 'male' },
          { s: null, c: '+1 555' },
        ],
      });
    });

    it('keeps a system without a code, and skips empty and duplicate values', () => {
      assert.deepEqual(indexOf([{ system: 'http://x' }, '', {}, { code: 'a' }, { code: 'a', display: '' }, null]), {
        code: [{ s: 'http://x' }, { s: null, c: 'a' }],
      });
      assert.deepEqual(indexOf([]), {});
    });
  });

  describe('parse', () => {
    it('reads the four token syntaxes', () => {
      assert.deepEqual(parse('8867-4').entry, { c: '8867-4' });
      assert.deepEqual(parse('http://loinc.org|8867-4').entry, { s: 'http://loinc.org', c: '8867-4' });
      assert.deepEqual(parse('|8867-4').entry, { s: null, c: '8867-4' });
      assert.deepEqual(parse('http://loinc.org|').entry, { s: 'http://loinc.org' });
      assert.deepEqual(parse('a|b', 'not').entry, { s: 'a', c: 'b' });
    });

    it('unescapes \\| \\, \\$ and \\\\ (search.html#escaping)', () => {
      assert.deepEqual(parse('a\\|b').entry, { c: 'a|b' });
      assert.deepEqual(parse('http://x|a\\|b\\,c').entry, { s: 'http://x', c: 'a|b,c' });
      assert.deepEqual(parse('a\\$b').entry, { c: 'a$b' });
      assert.deepEqual(parse('a\\\\|b').entry, { s: 'a\\', c: 'b' });
      assert.deepEqual(parse('a\\b').entry, { c: 'a\\b' }, 'other backslashes are kept');
    });

    it('reads :text as normalized text and :of-type as a triplet', () => {
      assert.equal(parse('  Héart  RATE', 'text').text, 'heart rate');
      assert.deepEqual(parse('http://terminology.hl7.org/CodeSystem/v2-0203|MR|A-123', 'of-type', identifier).ofType, {
        s: 'http://terminology.hl7.org/CodeSystem/v2-0203',
        c: 'MR',
        v: 'A-123',
      });
      assert.deepEqual(parse('|MR|a\\|1', 'of-type', identifier).ofType, { s: null, c: 'MR', v: 'a|1' });
    });

    it('refuses malformed values with a 400 naming the parameter', () => {
      assertBadRequest(() => parse(''), 'code', /value is required/);
      assertBadRequest(() => parse('|'), 'code', /system or a code/);
      assertBadRequest(() => parse('a|b|c'), 'code', /more than one '\|'/);
      assertBadRequest(() => parse('x\u0000'), 'code', /invalid characters/);
      assertBadRequest(() => parse('   ', 'text'), 'code:text');
      assertBadRequest(() => parse('MR|A-1', 'of-type', identifier), 'identifier:of-type', /type-system/);
      assertBadRequest(() => parse('http://x||A-1', 'of-type', identifier), 'identifier:of-type');
      assertBadRequest(() => parse('maybe', 'missing'), 'code:missing', /true or false/);
      assertBadRequest(() => parse('x', 'exact'), 'code:exact', /not valid/);
    });

    it('reads :below/:above as system|code (a hierarchy needs its system) and :in/:not-in as a ValueSet canonical', () => {
      assert.deepEqual(parse('http://sct|123', 'below').concept, { system: 'http://sct', code: '123' });
      assert.deepEqual(parse('http://sct|1\\|2', 'above').concept, { system: 'http://sct', code: '1|2' });
      for (const raw of ['123', '|123', 'http://sct|']) assertBadRequest(() => parse(raw, 'below'), 'code:below', /\[system\]\|\[code\]/);
      assert.deepEqual(parse('http://vs|2.0', 'in').valueSet, { canonical: 'http://vs|2.0' });
      assert.deepEqual(parse('http://vs', 'not-in').valueSet, { canonical: 'http://vs' });
    });
  });

  describe('terminology modifiers', () => {
    const resolver = {
      hierarchy: async (system: string) => (system === 'http://sct' ? { id: '42', scope: 'shared' as const } : undefined),
      // Many codes below 1 (kept in SQL), few elsewhere (resolved into plain probes).
      closureCodes: async (version: { url: string }, code: string, direction: 'below' | 'above') =>
        direction === 'below' && code === '1' ? { count: 65 } : { count: 2, codes: [{ s: version.url, c: code }, { s: version.url, c: 'p' }] },
      expansion: async (canonical: string) =>
        canonical === 'http://vs' ? { id: '7', drawn: { count: 100 } } : canonical === 'http://small' ? { id: '8', drawn: { count: 1, codes: [{ s: 'urn:s', c: 'a' }] } } : undefined,
    };
    const context = () => {
      let n = 0;
      return { tenant: '$99', nextAlias: () => `t${++n}` };
    };
    const resolve = (modifier: string, raws: string[]) => tokenParam.resolve!(code, modifier, raws.map((r) => parse(r, modifier)), resolver);

    it('resolve the code system version and the expansion before SQL, and refuse unknown ones with a 400', async () => {
      assert.deepEqual((await resolve('below', ['http://sct|1']))[0].concept?.hierarchy, { id: '42', scope: 'shared' });
      assert.deepEqual((await resolve('below', ['http://sct|1', 'http://sct|2'])).map(codesDrawn), [65, 2], 'how many codes each draws');
      assert.equal(codesDrawn((await resolve('in', ['http://vs']))[0]), 100);
      assert.equal(codesDrawn(parse('x')), 0);
      assert.equal((await resolve('in', ['http://vs']))[0].valueSet?.expansionId, '7');
      await assert.rejects(resolve('below', ['http://other|1']), (e: { status: number; message: string }) => e.status === 400 && /not known/.test(e.message));
      await assert.rejects(resolve('not-in', ['http://nope']), (e: { status: number; message: string }) => e.status === 400 && /not known/.test(e.message));
      assert.deepEqual(await tokenParam.resolve!(code, undefined, [parse('x')], resolver), [parse('x')], 'other values are left alone');
    });

    it(':below probes the GIN index with the closure rows of the resolved version, plus the code itself', async () => {
      const values = await resolve('below', ['http://sct|1']);
      const binds = new TestBinds();
      const text = tokenParam.predicate(code, 'below', values, 'r.sp', binds, context());
      assert.match(text, /r\.sp @> ANY\(ARRAY\(SELECT jsonb_build_object\(.*FROM terminology_closure t1 WHERE t1\.code_system_id = \$\d+::bigint AND t1\.ancestor = \$\d+\)\)/);
      assert.ok(text.includes('t1.descendant'));
      assertOnlyPlaceholders(text, ['http://sct', "'42'"]);
      assert.deepEqual(binds.values.slice(0, 4), ['http://sct', '42', '1', 'code'], 'system, version, code and key are binds');
      const tenantVersion = [{ ...values[0], concept: { ...values[0].concept!, hierarchy: { id: '5', scope: 'tenant' as const } } }];
      const above = tokenParam.predicate(code, 'above', tenantVersion, 'r.sp', new TestBinds(), context());
      assert.match(above, /FROM tenant_closure t1 WHERE t1\.tenant_id = \$99 AND .* t1\.descendant = /, 'a tenant version: its own rows, by tenant');
      assert.ok(above.includes('t1.ancestor))'));
    });

    it('with few codes, probe with each of them as a plain token would (PostgreSQL plans those well)', async () => {
      const binds = new TestBinds();
      const below = tokenParam.predicate(code, 'below', await resolve('below', ['http://sct|2']), 'r.sp', binds, context());
      assert.equal(below, '((r.sp @> $1::jsonb OR r.sp @> $2::jsonb))');
      assert.deepEqual(binds.values.map((b) => JSON.parse(b as string)), [{ code: [{ s: 'http://sct', c: '2' }] }, { code: [{ s: 'http://sct', c: 'p' }] }]);
      const inSmall = tokenParam.predicate(code, 'in', await resolve('in', ['http://small']), 'r.sp', new TestBinds(), context());
      assert.equal(inSmall, '((r.sp @> $1::jsonb))');
    });

    it('in a walk of rows (rowTest), look each entry of the row up among the codes instead of probing with every code', async () => {
      const below = tokenParam.predicate(code, 'below', await resolve('below', ['http://sct|1']), 'r.sp', new TestBinds(), { ...context(), rowTest: true });
      assert.match(below, /^\(EXISTS \(SELECT 1 FROM jsonb_array_elements\(r\.sp -> \$\d+::text\) e WHERE .*e ->> 'c' = ANY\(ARRAY\(SELECT t1\.descendant FROM terminology_closure t1 /);
      assert.ok(!below.includes('@>'), below);
      const inSet = tokenParam.predicate(code, 'in', await resolve('in', ['http://vs']), 'r.sp', new TestBinds(), { ...context(), rowTest: true });
      assert.match(inSet, /\(e ->> 's'\) \|\| '\|' \|\| \(e ->> 'c'\) = ANY\(ARRAY\(SELECT t1\.system \|\| '\|' \|\| t1\.code FROM value_set_expansion_code t1 WHERE t1\.tenant_id = \$99 /);
    });

    it(':in and :not-in probe with the cached expansion of the tenant; :not-in also matches resources without a code', async () => {
      const values = await resolve('in', ['http://vs']);
      const positive = tokenParam.predicate(code, 'in', values, 'r.sp', new TestBinds(), context());
      assert.match(positive, /^\(?r\.sp @> ANY\(ARRAY\(SELECT .* FROM value_set_expansion_code t1 WHERE t1\.tenant_id = \$99 AND t1\.expansion_id = \$\d+::bigint\)\)\)?$/);
      const negative = tokenParam.predicate(code, 'not-in', values, 'r.sp', new TestBinds(), context());
      assert.ok(negative.startsWith('NOT COALESCE('), negative);
    });

    it('are refused where terminology is not consulted: unresolved, in scope restrictions, in memory', () => {
      assertBadRequest(() => tokenParam.predicate(code, 'below', [parse('http://sct|1', 'below')], 'r.sp', new TestBinds(), context()), 'code:below', /not resolved/, 'not-supported');
      assertBadRequest(() => tokenParam.predicate(code, 'in', [parse('http://vs', 'in')], 'r.sp', new TestBinds()), 'code:in', /not consulted/, 'not-supported');
      assertBadRequest(() => tokenParam.matches(code, 'in', [parse('http://vs', 'in')], {}), 'code:in', /in-memory/, 'not-supported');
    });
  });

  describe('predicate', () => {
    it('is one containment probe per value, OR-ed', () => {
      const { text, binds } = sql(undefined, ['http://loinc.org|8867-4', '|x', 'y', 'http://s|']);
      assert.equal(text, '(r.sp @> $1::jsonb OR r.sp @> $2::jsonb OR r.sp @> $3::jsonb OR r.sp @> $4::jsonb)');
      assert.deepEqual(binds.map((b) => JSON.parse(b as string)), [
        { code: [{ s: 'http://loinc.org', c: '8867-4' }] },
        { code: [{ s: null, c: 'x' }] },
        { code: [{ c: 'y' }] },
        { code: [{ s: 'http://s' }] },
      ]);
    });

    it(':not negates, counting resources without the element or the index', () => {
      assert.equal(sql('not', ['a']).text, 'NOT COALESCE((r.sp @> $1::jsonb), false)');
    });

    it(':text and :of-type use their own keys', () => {
      const text = sql('text', ['Héart', 'pulse']);
      assert.equal(text.text, `jsonb_path_exists(r.sp, '$."code:text"[*] ? (@ starts with $v0 || @ starts with $v1)', $1::jsonb)`);
      assert.deepEqual(JSON.parse(text.binds[0] as string), { v0: 'heart', v1: 'pulse' });
      const ofType = sql('of-type', ['s|MR|1'], identifier);
      assert.equal(ofType.text, '(r.sp @> $1::jsonb)');
      assert.deepEqual(JSON.parse(ofType.binds[0] as string), { 'identifier:of-type': [{ s: 's', c: 'MR', v: '1' }] });
    });

    it(':missing looks at the codes and the texts', () => {
      const present = `(jsonb_path_exists(r.sp, '$."code"[*]') OR jsonb_path_exists(r.sp, '$."code:text"[*]'))`;
      assert.equal(sql('missing', ['false']).text, present);
      assert.equal(sql('missing', ['true']).text, `NOT COALESCE(${present}, false)`);
    });

    it('never puts a user value into the SQL text', () => {
      const hostile = [`O'Brien"); DROP TABLE x; --`, `a"b\\c'd`];
      for (const modifier of [undefined, 'not', 'text']) {
        const { text, binds } = sql(modifier, hostile.map((h) => h.replace(/\|/g, '\\|')));
        assertOnlyPlaceholders(text, [...hostile, "O'Brien", 'DROP', 'a"b']);
        assert.equal(binds.length, modifier === 'text' ? 1 : 2);
      }
    });

    it('quotes and escapes odd parameter codes inside jsonpath and SQL literals', () => {
      const odd = paramDef(`we"ird'\\code`, 'token');
      assert.equal(sql('text', ['a'], odd).text, `jsonb_path_exists(r.sp, '$."we\\"ird''\\\\code:text"[*] ? (@ starts with $v0)', $1::jsonb)`);
    });
  });

  describe('matches', () => {
    const index = indexOf([
      { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }, { code: 'HR' }], text: 'Pouls cardiaque' },
    ]);

    it('matches code, system|code, |code and system| like the spec says', () => {
      assert.equal(matches(index, undefined, ['8867-4']), true);
      assert.equal(matches(index, undefined, ['http://loinc.org|8867-4']), true);
      assert.equal(matches(index, undefined, ['http://snomed.info/sct|8867-4']), false);
      assert.equal(matches(index, undefined, ['|8867-4']), false, 'the LOINC code has a system');
      assert.equal(matches(index, undefined, ['|HR']), true);
      assert.equal(matches(index, undefined, ['http://loinc.org|']), true);
      assert.equal(matches(index, undefined, ['hr', 'Hr']), false, 'codes are case-sensitive');
      assert.equal(matches(index, undefined, ['nope', 'HR']), true, 'comma is OR');
    });

    it('applies :not, :text and :missing', () => {
      assert.equal(matches(index, 'not', ['HR']), false);
      assert.equal(matches(index, 'not', ['x']), true);
      assert.equal(matches({}, 'not', ['x']), true, 'no element at all also matches :not');
      assert.equal(matches(index, 'text', ['HEART']), true);
      assert.equal(matches(index, 'text', ['poûls car']), true);
      assert.equal(matches(index, 'text', ['rate']), false, 'a prefix, not a substring');
      assert.equal(matches(index, 'missing', ['false']), true);
      assert.equal(matches({}, 'missing', ['true']), true);
      assert.equal(matches(indexOf([{ text: 'only text' }]), 'missing', ['true']), false);
    });

    it('applies :of-type to Identifier.type codings', () => {
      const ids = indexOf([{ system: 'urn:mrn', value: '42', type: { coding: [{ system: 'http://v2', code: 'MR' }] } }], identifier);
      assert.equal(matches(ids, 'of-type', ['http://v2|MR|42'], identifier), true);
      assert.equal(matches(ids, 'of-type', ['http://v2|MR|43'], identifier), false);
      assert.equal(matches(ids, 'of-type', ['|MR|42'], identifier), false);
      assert.equal(matches(ids, undefined, ['urn:mrn|42'], identifier), true);
    });
  });
});
