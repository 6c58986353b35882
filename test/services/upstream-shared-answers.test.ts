// The cache that lets downstream servers asking the same GetRevisionIdList together share one
// answer (src/services/upstream/shared-answers.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedAnswers } from '../../src/services/upstream/shared-answers.ts';

test('callers of one key share one build, pending or done; other keys build their own', async () => {
  const answers = new SharedAnswers<string>({ size: 2, ttlMs: 60_000 });
  let builds = 0;
  let finish!: () => void;
  const slow = (value: string) => () => {
    builds++;
    return new Promise<string>((resolve) => (finish = () => resolve(value)));
  };
  const first = answers.get('a', slow('A'));
  const second = answers.get('a', slow('other'));
  finish();
  assert.deepEqual(await Promise.all([first, second]), ['A', 'A']);
  assert.equal(await answers.get('a', slow('again')), 'A');
  assert.equal(builds, 1);
  const b = answers.get('b', slow('B'));
  finish();
  assert.equal(await b, 'B');
  assert.equal(builds, 2);
});

test('a failed build is not remembered, old entries give way to new ones, and answers expire', async () => {
  const answers = new SharedAnswers<number>({ size: 2, ttlMs: 50 });
  await assert.rejects(answers.get('x', async () => Promise.reject(new Error('no'))), /no/);
  assert.equal(await answers.get('x', async () => 1), 1);
  await answers.get('y', async () => 2);
  await answers.get('z', async () => 3);
  // Three keys in a cache of two: the oldest ('x') went.
  assert.equal(await answers.get('x', async () => 10), 10);
  assert.equal(await answers.get('z', async () => 30), 3);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(await answers.get('z', async () => 31), 31);
});
