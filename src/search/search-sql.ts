// The search layer's SQL builders mark their statements with searchSql(), the only way to
// make the SearchSql that ResourceStore.query accepts (storage/search-sql.ts). Call it only on
// text whose identifiers come from the type registry and whose values are bind parameters;
// test/unit/storage/search-sql.test.ts keeps it to src/search.
import type { SearchSql } from '../storage/search-sql.js';

export function searchSql(text: string): SearchSql {
  return text as SearchSql;
}
