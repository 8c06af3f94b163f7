// UCUM through @lhncbc/ucum-lhc (src/terminology/ucum.ts): canonical forms in base units, shared
// by comparable units, and none where a comparison of canonical values would mislead.
import assert from 'node:assert/strict';
import { canonicalQuantity, isUcumUnit } from '../../src/terminology/ucum.js';

describe('UCUM canonical quantities', () => {
  it('comparable units share a canonical code and compare by magnitude', () => {
    assert.deepEqual(canonicalQuantity(120, 'mg/dL'), { value: 1200, code: 'g.m-3' });
    assert.deepEqual(canonicalQuantity(1.2, 'g/L'), { value: 1200, code: 'g.m-3' });
    assert.deepEqual(canonicalQuantity(1, 'kg'), { value: 1000, code: 'g' });
    assert.deepEqual(canonicalQuantity(70, '/min'), canonicalQuantity(70, '{beats}/min'), 'annotations do not change the unit');
    assert.deepEqual(canonicalQuantity(1, '%'), { value: 0.01, code: '1' }, 'dimensionless');
  });

  it('offset units convert their value, not only a factor: 37 Cel = 98.6 [degF] = 310.15 K', () => {
    assert.deepEqual(canonicalQuantity(37, 'Cel'), { value: 310.15, code: 'K' });
    assert.deepEqual(canonicalQuantity(98.6, '[degF]'), { value: 310.15, code: 'K' });
  });

  it('rounds away binary noise, so a stored value and a search bound converted alike compare alike', () => {
    assert.deepEqual(canonicalQuantity(2, '10*3/uL'), { value: 2e12, code: 'm-3' });
  });

  it('gives nothing for units that are not UCUM, arbitrary, or decreasing', () => {
    for (const unit of ['bogus', '', '[IU]/L', '[pH]']) assert.equal(canonicalQuantity(1, unit), undefined, unit);
    assert.equal(canonicalQuantity(Number.NaN, 'mg'), undefined);
  });

  it('validates unit codes', () => {
    assert.equal(isUcumUnit('mg/dL'), true);
    assert.equal(isUcumUnit('mmol/L'), true);
    assert.equal(isUcumUnit('mgdl'), false);
    assert.equal(isUcumUnit(''), false);
  });
});
