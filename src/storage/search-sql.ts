// The one kind of SQL text ResourceStore.query accepts (docs/storage.md "Typed stores"): a
// statement built by the search layer's SQL builders, whose identifiers come from the type
// registry and whose values are all bind parameters. The brand cannot be written outside this
// type (its key is not exported), so a hand-written string does not type-check; the search layer
// makes its statements with searchSql() (src/search/search-sql.ts), and
// test/unit/storage/search-sql.test.ts checks that no other module does. Other tables have
// typed stores of their own (search-parameter-store.ts, reindex-job-store.ts, load-ledger-store.ts).
declare const searchSqlBrand: unique symbol;

export type SearchSql = string & { readonly [searchSqlBrand]: 'SearchSql' };
