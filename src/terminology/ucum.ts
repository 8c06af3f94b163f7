// UCUM (https://ucum.org; FHIR R4 datatypes.html#Quantity, search.html#quantity) through
// @lhncbc/ucum-lhc: whether a unit code is valid UCUM, and a value's canonical form — its
// magnitude in UCUM's base units and those units as one code (`g.m-3` for mg/dL and g/L alike),
// so that quantities written in comparable units can be compared (issue 12, "Quantity search
// normalised with UCUM").
import ucum from '@lhncbc/ucum-lhc';

export const UCUM_SYSTEM = 'http://unitsofmeasure.org';

export interface CanonicalQuantity {
  value: number;
  /** The base units with their exponents, sorted by unit (`g.m-3`); `1` when dimensionless. */
  code: string;
}

interface BaseUnitsAnswer {
  status: string;
  magnitude?: number;
  unitToExp?: Record<string, number>;
  fromUnitIsSpecial?: boolean;
}

const utils = ucum.UcumLhcUtils.getInstance();

/**
 * Rounded to 15 significant digits: unit factors are binary fractions (2 × 10*3/uL comes out as
 * 1999999999999.9998), and a value and a search bound converted alike must compare alike.
 */
const rounded = (x: number) => Number(x.toPrecision(15));

/**
 * What a unit code converts by, learnt once per code: parsing a code costs ucum-lhc about 6 µs,
 * and indexing converts every UCUM quantity it meets. A unit is a factor onto its base units,
 * or "special" (an offset or a function: Cel, [degF], [pH]), converted value by value; `null`
 * when it has no canonical form (not UCUM, arbitrary like [IU], or decreasing like [pH], whose
 * canonical values would order opposite to the written ones and swap a range's bounds).
 */
type Conversion = { code: string; factor: number } | { code: string; special: true } | null;

const conversions = new Map<string, Conversion>();
const MAX_CACHED_UNITS = 10_000;

function baseUnits(unit: string, value: number): BaseUnitsAnswer {
  return utils.convertToBaseUnits(unit, value) as BaseUnitsAnswer;
}

function learn(unit: string): Conversion {
  const one = baseUnits(unit, 1);
  if (one.status !== 'succeeded' || typeof one.magnitude !== 'number' || !Number.isFinite(one.magnitude)) return null;
  const units = Object.entries(one.unitToExp ?? {})
    .filter(([, exp]) => exp !== 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, exp]) => (exp === 1 ? name : `${name}${exp}`));
  const code = units.length > 0 ? units.join('.') : '1';
  if (!one.fromUnitIsSpecial) return one.magnitude > 0 ? { code, factor: one.magnitude } : null;
  const two = baseUnits(unit, 2).magnitude;
  return typeof two === 'number' && two > one.magnitude ? { code, special: true } : null;
}

function conversionOf(unit: string): Conversion {
  let known = conversions.get(unit);
  if (known === undefined) {
    known = learn(unit);
    if (conversions.size < MAX_CACHED_UNITS) conversions.set(unit, known);
  }
  return known;
}

/**
 * The canonical form of `value` `unit`; undefined for a unit that is not UCUM, cannot be
 * converted (arbitrary units such as [IU]) or converts decreasingly ([pH]).
 */
export function canonicalQuantity(value: number, unit: string): CanonicalQuantity | undefined {
  if (!Number.isFinite(value) || unit === '') return undefined;
  const conversion = conversionOf(unit);
  if (!conversion) return undefined;
  if ('factor' in conversion) return { value: rounded(value * conversion.factor), code: conversion.code };
  const magnitude = baseUnits(unit, value).magnitude;
  return typeof magnitude === 'number' && Number.isFinite(magnitude) ? { value: rounded(magnitude), code: conversion.code } : undefined;
}

/** Whether `unit` is a valid UCUM code. */
export function isUcumUnit(unit: string): boolean {
  return unit !== '' && (utils.validateUnitString(unit) as { status: string }).status === 'valid';
}
