-- The delivery claim (src/storage/pg/delivery-store.ts) takes a cursor's lease with
-- INSERT … ON CONFLICT DO UPDATE … WHERE the old lease has expired. Citus (distributed mode,
-- issue 15, ADR 0024) refuses a function that is not IMMUTABLE there, such as now(); the claim
-- writes its time into this column instead and compares with EXCLUDED.leased_at, which is the
-- same instant. Nullable and without a default: adding it rewrites nothing.
ALTER TABLE delivery_cursor ADD COLUMN leased_at timestamptz;
