// The maintenance commands as an administrator runs them, in real processes: `openwsus cleanup`
// killed with SIGKILL in the middle of a step and run again resumes and ends in the state the
// rules give; the declined view and `updates reinstate`; `content verify` finding a corrupt file
// and, with --fix, putting it back in the download queue.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { ContentStore } from '../../src/content/index.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { BIN, runCli, stdoutJson, type CliResult } from '../support/cli.ts';
import { FILES, NOW, U, daysAgo, expected, seedHistory, snapshot } from './history.ts';

const EXTRA_EVENTS = 5_000;

function ok(result: CliResult, what: string): CliResult {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

test('openwsus cleanup killed with SIGKILL resumes; reinstate; content verify --fix re-queues [sqlite]', { timeout: 180_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'openwsus-cleanup-cli-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const content = ContentStore.inDataDir(dataDir);
  const open = (): Promise<Store> => openStore({ dataDir });
  let store = await open();
  await seedHistory(store, content);
  // Enough stale events that the events step takes many small batches.
  await sql`with recursive n(i) as (select 1 union all select i + 1 from n where i < ${EXTRA_EVENTS})
    insert into client_event select 'stale-' || i, ${U.a1}, 1, 183, 1, ${U.a5}, 100, 0, 'test', ${daysAgo(200)}, ${daysAgo(200)}, '[]', '[]' from n`.execute(store.db);
  const reference = { ...(await snapshot(store, content)) };

  // 1. Killed in the middle of the events step.
  const child = spawn(BIN, ['--data', dataDir, 'cleanup', '--as-of', NOW.toISOString(), '--batch-size', '20', '--json'], { stdio: 'ignore', env: { ...process.env, OPENWSUS_LOG_LEVEL: 'warn' } });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  let killedAt: number | undefined;
  for (let i = 0; i < 3000 && killedAt === undefined; i++) {
    const run = await store.cleanup.unfinished().catch(() => undefined);
    const deleted = run?.step === 'events' ? (run.counts.events?.deleted ?? 0) : 0;
    if (deleted > 0) {
      child.kill('SIGKILL');
      killedAt = deleted;
    } else await sleep(10);
  }
  assert.equal(await exited, 'SIGKILL', 'the cleanup was killed mid-run');
  assert.ok(killedAt !== undefined && killedAt < EXTRA_EVENTS, `killed after ${killedAt} events`);
  const interrupted = await store.cleanup.unfinished();
  assert.equal(interrupted?.result, 'running', 'the run is left unfinished');

  // 2. Run again (another clock): it resumes the killed run, with its clock, and finishes it.
  await store.close();
  const resumed = stdoutJson<{ resumed: boolean; startedAt: string; counts: Record<string, Record<string, number>> }>(
    ok(await runCli(['--data', dataDir, 'cleanup', '--json']), 'cleanup after the kill'),
  );
  assert.equal(resumed.resumed, true);
  assert.equal(resumed.startedAt, NOW.toISOString(), 'the run keeps the clock it started with');
  assert.equal(resumed.counts.events?.deleted, EXTRA_EVENTS + expected.staleEvents, 'every stale event deleted exactly once across both processes');
  store = await open();
  const after = await snapshot(store, content);
  await store.close();
  assert.deepEqual(after.declined, expected.declined);
  assert.equal(after.events, expected.freshEvents);
  assert.deepEqual(after.computers, expected.keptComputers);
  assert.deepEqual(after.onDisk, expected.keptFiles.map((f) => f.fileName).sort());
  assert.equal((after.revisions as string[]).length, (reference.revisions as string[]).length - expected.deletedRevisions.length);

  // 3. The declined view, and a reinstate.
  const declined = async (): Promise<string[]> =>
    stdoutJson<{ updates: { updateId: string }[] }>(ok(await runCli(['--data', dataDir, 'updates', 'list', '--declined', '--json']), 'list --declined')).updates.map((u) => u.updateId).sort();
  assert.deepEqual(await declined(), expected.declined);
  assert.match(ok(await runCli(['--data', dataDir, 'updates', 'reinstate', U.a1]), 'reinstate').stdout, /^reinstated: .* is not approved again/);
  assert.deepEqual(await declined(), [U.e1]);

  // 4. A corrupt file: verify reports it, --fix queues it again.
  await writeFile(content.pathOf(FILES.a5), Buffer.alloc(FILES.a5.size, 1));
  const report = await runCli(['--data', dataDir, 'content', 'verify', '--json']);
  assert.equal(report.code, 1, 'problems found without --fix: exit 1');
  const found = stdoutJson<{ checked: number; ok: number; corrupt: { path: string }[]; missing: string[] }>(report);
  assert.equal(found.checked, expected.keptFiles.length);
  assert.equal(found.corrupt.length, 1);
  assert.match(found.corrupt[0]!.path, /\.cab$/);
  const fixed = stdoutJson<{ requeued: number }>(ok(await runCli(['--data', dataDir, 'content', 'verify', '--fix', '--json']), 'verify --fix'));
  assert.equal(fixed.requeued, 1, JSON.stringify(fixed));
  store = await open();
  try {
    assert.equal((await store.files.get(FILES.a5.sha1))?.state, 'queued');
    assert.equal((await store.contentQueue.get(FILES.a5.sha1))?.state, 'queued');
    assert.equal(await content.stat(FILES.a5), undefined, 'the corrupt copy is gone');
  } finally {
    await store.close();
  }
});
