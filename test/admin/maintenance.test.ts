// Cleanup and content verification through the API, on a store with months of history
// (test/maintenance/history.ts): who may start them, bad input refused with nothing changed, a
// dry run that counts what the cleanup itself would (and changes nothing), a real run with its
// per-step counts and recorded history, 409 while one runs, a replica that leaves declines to its
// upstream, and a verification that re-queues the files that do not match their digest.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { ContentStore } from '../../src/content/index.ts';
import { runCleanup } from '../../src/maintenance/cleanup.ts';
import { forEachBackend } from '../support/db.ts';
import { seedHistory, snapshot as historySnapshot } from '../maintenance/history.ts';
import { apiHarness } from './harness.ts';

forEachBackend('cleanup and content verification through the administration API', async ({ t, store, dataDir }) => {
  const content = new ContentStore(join(dataDir, 'content'));
  await seedHistory(store, content);
  const h = await apiHarness(store, { content });
  t.after(() => h.close());
  const state = () => historySnapshot(store, content);
  const before = await state();

  // Who may: anyone signed in reads, only an Administrator (with the CSRF token) starts.
  assert.equal((await h.call(h.anonymous, 'GET', '/api/v1/cleanup')).statusCode, 401);
  assert.equal((await h.call(h.reporter, 'GET', '/api/v1/cleanup')).statusCode, 200);
  assert.equal((await h.call(h.reporter, 'GET', '/api/v1/content/verify')).statusCode, 200);
  for (const [who, status] of [[h.anonymous, 401], [h.reporter, 403]] as const) {
    assert.equal((await h.call(who, 'POST', '/api/v1/cleanup', {})).statusCode, status);
    assert.equal((await h.call(who, 'POST', '/api/v1/content/verify', { fix: true })).statusCode, status);
  }
  assert.equal((await h.call(h.admin, 'POST', '/api/v1/cleanup', {}, { csrf: false })).statusCode, 403);

  // Bad input: a problem document naming the field.
  for (const [body, field] of [
    [{ steps: ['revisions', 'everything'] }, 'body.steps.1'],
    [{ steps: [] }, 'body.steps'],
    [{ dryRun: 'yes' }, 'body.dryRun'],
    [{ force: true }, 'body.force'],
  ] as const) {
    const res = await h.call(h.admin, 'POST', '/api/v1/cleanup', body);
    assert.equal(res.statusCode, 400, JSON.stringify(body));
    assert.match(String(res.headers['content-type']), /application\/problem\+json/);
    assert.ok(res.json().errors.some((e: { field: string }) => e.field === field), res.body);
  }
  assert.equal((await h.call(h.admin, 'POST', '/api/v1/content/verify', { fix: 1 })).statusCode, 400);
  assert.equal((await h.call(h.admin, 'GET', '/api/v1/cleanup?limit=0')).statusCode, 400);
  assert.equal((await h.call(h.admin, 'DELETE', '/api/v1/cleanup')).statusCode, 409, 'nothing to stop');
  assert.equal((await h.call(h.admin, 'DELETE', '/api/v1/content/verify')).statusCode, 409, 'nothing to stop');
  assert.equal((await h.call(h.reporter, 'DELETE', '/api/v1/cleanup')).statusCode, 403);
  assert.deepEqual(await state(), before, 'refused calls change nothing');

  // A dry run counts what the cleanup itself counts, and changes nothing.
  const direct = await runCleanup(store, content, { dryRun: true });
  const dry = await h.call(h.token, 'POST', '/api/v1/cleanup', { dryRun: true });
  assert.equal(dry.statusCode, 202, dry.body);
  await h.administration.maintenance.settled();
  const afterDry = (await h.call(h.reporter, 'GET', '/api/v1/cleanup')).json();
  assert.equal(afterDry.running, false);
  assert.equal(afterDry.lastReport.dryRun, true);
  assert.deepEqual(afterDry.lastReport.counts, direct.counts);
  assert.deepEqual(afterDry.runs, [], 'a dry run is not recorded');
  assert.deepEqual(await state(), before);

  // A real run; a second start meanwhile is refused.
  const both = { steps: ['files', 'computers', 'events', 'revisions', 'expired', 'superseded'] };
  const [first, second] = (await Promise.all([h.call(h.admin, 'POST', '/api/v1/cleanup', both), h.call(h.token, 'POST', '/api/v1/cleanup', both)])).sort(
    (x, y) => x.statusCode - y.statusCode,
  ) as [LightMyRequestResponse, LightMyRequestResponse];
  assert.equal(first.statusCode, 202, first.body);
  assert.equal(second.statusCode, 409, second.body);
  assert.equal(second.json().status, 409);
  const started = first.json();
  assert.equal(started.runs[0].result, 'running');
  assert.equal(started.running, true);
  // Answered once the first page (of the first step, computers) is done; on a quick machine the
  // run may be a step further by the time the answer is read.
  assert.ok(both.steps.includes(started.progress.step), started.progress.step);
  assert.equal(started.progress.counts.computers.deleted, direct.counts.computers!.deleted, 'answered once the first page is done');
  assert.deepEqual(started.runs[0].steps, ['computers', 'events', 'expired', 'superseded', 'revisions', 'files'], 'steps in the fixed order');
  await h.administration.maintenance.settled();
  const done = (await h.call(h.reporter, 'GET', '/api/v1/cleanup')).json();
  assert.equal(done.running, false);
  assert.equal(done.runs.length, 1);
  assert.equal(done.runs[0].result, 'done');
  assert.equal(done.runs[0].id, started.runs[0].id);
  assert.deepEqual(done.runs[0].counts, done.lastReport.counts);
  // Steps after the first see what the earlier ones did (a deleted computer takes its events along),
  // so the state is checked against the run's own counts.
  const { computers, events, expired, superseded, revisions } = done.lastReport.counts;
  assert.equal(computers.deleted, direct.counts.computers!.deleted, 'the first step does what the dry run counted');
  const after = await state();
  assert.equal((after.computers as string[]).length, (before.computers as string[]).length - computers.deleted);
  assert.equal(after.events, (before.events as number) - computers.events - events.deleted);
  assert.equal((after.declined as string[]).length, (before.declined as string[]).length + expired.declined + superseded.declined);
  assert.equal((after.revisions as string[]).length, (before.revisions as string[]).length - revisions.deleted);
  assert.ok(revisions.deleted > 0 && superseded.declined > 0);
  const audit = await store.audit.list({ limit: 50 });
  const starts = audit.filter((e) => e.action === 'cleanup.start');
  assert.equal(starts.length, 2, 'the dry run and the run');
  assert.ok(starts.some((e) => e.target === String(done.runs[0].id)));

  // Content verification: every file left is sound but one, damaged here.
  const files = await store.files.list('present', { limit: 500 });
  const present = files.length;
  assert.ok(present > 0);
  const damaged = content.pathOf(files[0]!);
  await writeFile(damaged, 'not what the digest says');
  const [verify, again] = (await Promise.all([h.call(h.admin, 'POST', '/api/v1/content/verify', { fix: true }), h.call(h.token, 'POST', '/api/v1/content/verify', { fix: true })])).sort(
    (x, y) => x.statusCode - y.statusCode,
  ) as [LightMyRequestResponse, LightMyRequestResponse];
  assert.equal(verify.statusCode, 202, verify.body);
  assert.equal(again.statusCode, 409, 'one verification at a time');
  await h.administration.maintenance.settled();
  const verified = (await h.call(h.reporter, 'GET', '/api/v1/content/verify')).json();
  assert.equal(verified.running, false);
  assert.equal(verified.lastReport.checked, present);
  const bad = verified.lastReport.missing.length + verified.lastReport.corrupt.length;
  assert.equal(verified.lastReport.ok + bad, present);
  assert.deepEqual(verified.lastReport.corrupt.map((c: { path: string }) => c.path), [damaged]);
  assert.equal(verified.lastReport.requeued, bad);
  assert.equal((await store.files.list('present', { limit: 500 })).length, present - bad);
  assert.ok(audit.length < (await store.audit.list({ limit: 50 })).length, 'the verification is audited');

  // Stopped through the API, a run keeps its checkpoint and the next start resumes it.
  assert.equal((await h.call(h.admin, 'POST', '/api/v1/cleanup', {})).statusCode, 202);
  const cancel = await h.call(h.admin, 'DELETE', '/api/v1/cleanup');
  t.diagnostic(`stopping the cleanup answered ${cancel.statusCode}`);
  if (cancel.statusCode === 204) {
    const stopped = (await h.call(h.reporter, 'GET', '/api/v1/cleanup')).json();
    assert.deepEqual([stopped.running, stopped.runs[0].result], [false, 'running'], 'stopped, not finished');
    assert.equal((await h.call(h.admin, 'POST', '/api/v1/cleanup', { steps: ['events'] })).statusCode, 202);
    await h.administration.maintenance.settled();
    const resumed = (await h.call(h.reporter, 'GET', '/api/v1/cleanup')).json();
    assert.equal(resumed.lastReport.resumed, true);
    assert.equal(resumed.lastReport.steps.length, 7, 'the stopped run\'s own steps, not the ones asked');
    assert.equal(resumed.runs[0].result, 'done');
  } else {
    assert.equal(cancel.statusCode, 409, 'the run finished before the stop came');
  }
  await h.administration.maintenance.settled();

  // A replica leaves declines to its upstream: asked for declines only it refuses, else it skips them.
  await store.settings.set('upstream.replica', true);
  const declinesOnly = await h.call(h.admin, 'POST', '/api/v1/cleanup', { steps: ['expired', 'superseded'] });
  assert.equal(declinesOnly.statusCode, 409);
  assert.match(declinesOnly.json().detail, /replica/);
  const declinedBefore = (await store.declines.list()).length;
  assert.equal((await h.call(h.admin, 'POST', '/api/v1/cleanup', { steps: ['expired', 'events'] })).statusCode, 202);
  await h.administration.maintenance.settled();
  const replica = (await h.call(h.admin, 'GET', '/api/v1/cleanup?limit=1')).json();
  assert.equal(replica.runs.length, 1, 'limit');
  assert.equal(replica.runs[0].result, 'done');
  assert.deepEqual(replica.lastReport.steps, ['events']);
  assert.deepEqual(Object.keys(replica.lastReport.skipped), ['expired']);
  assert.equal((await store.declines.list()).length, declinedBefore);
});
