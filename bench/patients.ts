// Patients for the write benchmarks (bench:crud, bench:crud-ab): distinct identifiers, a
// family name shared by 1 in 500, an address, so every string index has something to hold.
import { randomUUID } from 'node:crypto';

export function benchPatient(i: number, id?: string): string {
  return JSON.stringify({
    resourceType: 'Patient',
    ...(id ? { id } : {}),
    identifier: [{ system: 'urn:bench', value: `p-${i}-${randomUUID()}` }],
    name: [{ family: `Family${i % 500}`, given: [`Given${i}`] }],
    gender: i % 2 ? 'female' : 'male',
    birthDate: `19${String(40 + (i % 60)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}`,
    address: [{ line: [`${i} Main St`], city: 'Springfield', postalCode: '12345' }],
  });
}
