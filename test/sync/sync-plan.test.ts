import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batches, classifyRevision, planFetch, withDelta } from '../../src/domain/sync-plan.ts';

const A = 'aaaaaaaa-0000-0000-0000-000000000000';
const B = 'bbbbbbbb-0000-0000-0000-000000000000';
const C = 'cccccccc-0000-0000-0000-000000000000';

describe('sync plan', () => {
  it('fetches only revisions not held, each once', () => {
    const held = new Map([[A, new Set([100])], [B, new Set([100])]]);
    const plan = planFetch(
      [
        { updateId: A, revisionNumber: 100 },
        { updateId: B, revisionNumber: 101 },
        { updateId: C, revisionNumber: 1 },
        { updateId: C, revisionNumber: 1 },
      ],
      held,
    );
    assert.deepEqual(plan.wanted, [
      { updateId: B, revisionNumber: 101 },
      { updateId: C, revisionNumber: 1 },
    ]);
    assert.equal(plan.held, 1);
  });

  it('cuts batches of the upstream size', () => {
    assert.deepEqual(batches([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
    assert.deepEqual(batches([], 100), []);
    assert.throws(() => batches([1], 0), RangeError);
  });

  it('asks only changes for ids sent before, everything for ids new to the filter', () => {
    assert.deepEqual(withDelta([A, B], new Set([A]), true), [
      { id: A, delta: true },
      { id: B, delta: false },
    ]);
    assert.deepEqual(withDelta([A], new Set([A]), false), [{ id: A, delta: false }]);
  });

  it('counts a revision as new, revised or expired', () => {
    assert.equal(classifyRevision('Published', undefined), 'new');
    assert.equal(classifyRevision('Published', new Set([100])), 'revised');
    assert.equal(classifyRevision('Expired', new Set([100])), 'expired');
    assert.equal(classifyRevision('Expired', undefined), 'expired');
  });
});
