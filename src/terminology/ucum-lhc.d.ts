// The part of @lhncbc/ucum-lhc (which ships no types) that ucum.ts calls.
declare module '@lhncbc/ucum-lhc' {
  interface UcumLhcUtils {
    convertToBaseUnits(fromUnit: string, fromVal: number): unknown;
    validateUnitString(unit: string): unknown;
  }
  const ucum: { UcumLhcUtils: { getInstance(): UcumLhcUtils } };
  export default ucum;
}
