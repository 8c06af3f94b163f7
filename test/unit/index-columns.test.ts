// Where the search engine finds a parameter's index entries (src/storage/table-names.ts
// indexColumn & co.; docs/adr/0017-audit-records-per-interaction.md): in `sp`, and in a type's
// own columns where its tables say so (AuditEvent's patient and entity).
import assert from 'node:assert/strict';
import { RESOURCE_TYPES } from '../../src/core/resource-types.js';
import { indexColumn, indexColumnIn, indexContains, indexContainsIn, indexSelection, indexSelectionIn } from '../../src/storage/table-names.js';

describe('index columns', () => {
  it('every served type but AuditEvent keeps every parameter in sp, so their statements are what they were', () => {
    for (const type of RESOURCE_TYPES.filter((t) => t !== 'AuditEvent')) {
      assert.equal(indexColumn('r', type, 'patient'), 'r.sp', type);
      assert.equal(indexContains('s', type, 'p.probe'), 's.sp @> p.probe', type);
      assert.equal(indexSelection('r', type), 'r.sp', type);
    }
  });

  it("AuditEvent reads an event's own patient and entity entries from event_sp, the rest from sp (ADR 0017)", () => {
    assert.equal(indexColumn('r', 'AuditEvent', 'patient'), 'r.event_sp');
    assert.equal(indexColumn('r', 'AuditEvent', 'entity'), 'r.event_sp');
    assert.equal(indexColumn('r', 'AuditEvent', 'agent'), 'r.sp');
    assert.equal(indexContains('s', 'AuditEvent', 'p.probe'), '(s.sp @> p.probe OR s.event_sp @> p.probe)');
  });

  it('a layout that keeps some parameters apart routes them, and only them, to their column', () => {
    const layout = { indexColumns: { patient: 'event_sp', entity: 'event_sp' } };
    assert.equal(indexColumnIn(layout, 'r', 'patient'), 'r.event_sp');
    assert.equal(indexColumnIn(layout, 'r', 'entity'), 'r.event_sp');
    assert.equal(indexColumnIn(layout, 'r', 'date'), 'r.sp');
    assert.equal(indexColumnIn(undefined, 'r', 'patient'), 'r.sp');
  });

  it('a probe of unknown code is looked for in each column once, OR-ed; the whole index is their union', () => {
    const layout = { indexColumns: { patient: 'event_sp', entity: 'event_sp' } };
    assert.equal(indexContainsIn(layout, 's', 'p.probe'), '(s.sp @> p.probe OR s.event_sp @> p.probe)');
    assert.equal(indexSelectionIn(layout, 'r'), "(COALESCE(r.sp, '{}'::jsonb) || COALESCE(r.event_sp, '{}'::jsonb)) AS sp");
    assert.equal(indexSelectionIn({}, 'r'), 'r.sp');
  });
});
