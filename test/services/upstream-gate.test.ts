// The gate that lets one GetRevisionIdList answer be built at a time (src/services/upstream/gate.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Gate } from '../../src/services/upstream/gate.ts';

test('a gate runs at most its size at once, in arrival order, and lets the event loop turn before each', async () => {
  const gate = new Gate(2);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const release: (() => void)[] = [];
  const jobs = [0, 1, 2, 3, 4].map((i) =>
    gate.run(async () => {
      started.push(i);
      running++;
      most = Math.max(most, running);
      await new Promise<void>((r) => release.push(r));
      running--;
      return i * 10;
    }),
  );
  // Nothing starts within the caller's turn, microtasks included: only on a later turn of the loop.
  for (let i = 0; i < 10; i++) await Promise.resolve();
  assert.deepEqual(started, []);
  while (started.length < 2) await new Promise((r) => setTimeout(r, 1));
  assert.deepEqual(started, [0, 1]);
  while (release.length > 0 || started.length < 5) {
    release.shift()?.();
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.deepEqual(await Promise.all(jobs), [0, 10, 20, 30, 40]);
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
  assert.equal(most, 2);
});

test('a failing turn frees its place', async () => {
  const gate = new Gate(1);
  await assert.rejects(gate.run(async () => Promise.reject(new Error('no'))), /no/);
  assert.equal(await gate.run(async () => 'next'), 'next');
  assert.throws(() => new Gate(0), RangeError);
});
