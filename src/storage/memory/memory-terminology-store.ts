// The memory repository's terminology: none. It holds no code systems, so lookups find nothing
// and validation against them reports unknown systems; loading one needs PostgreSQL (the
// memory repository is a test double for the layers above storage, docs/storage.md).
import type { TerminologyStore } from '../terminology-store.js';

const needsPostgres = async (): Promise<never> => {
  throw new Error('Loading terminology needs PostgreSQL (the memory repository holds none)');
};

export const emptyTerminologyStore: TerminologyStore = {
  codeSystems: async () => [],
  concepts: async () => [],
  neighbours: async () => ({ parents: [], children: [] }),
  closureCodes: async () => [],
  subsumes: async () => false,
  regexProblem: async (pattern) => {
    try {
      new RegExp(pattern);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  },
  selectConcepts: async () => [],
  countConcepts: async () => 0,
  beginCodeSystem: needsPostgres,
  dropCodeSystemsOfResource: async () => 0,
  sharedResources: async () => [],
  generations: async () => ({ shared: '0', tenant: '0' }),
  bumpGeneration: async () => undefined,
  expansionCacheAccess: async () => 'none',
  findExpansion: async () => undefined,
  saveExpansion: needsPostgres,
  expansionPage: async () => ({ codes: [], total: 0 }),
  expansionContains: async () => undefined,
};
