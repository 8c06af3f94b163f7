// Patients for the write benchmarks (bench:crud, bench:crud-ab, bench:search-fresh): distinct identifiers, a
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

/** Creates `count` patients, 50 requests at a time; their ids. */
export async function seedPatients(base: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, (_, k) =>
        fetch(`${base}/Patient`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' }, body: benchPatient(i + k) }),
      ),
    );
    for (const r of batch) ids.push(r.headers.get('location')!.split('/').slice(-3)[0]);
  }
  return ids;
}
