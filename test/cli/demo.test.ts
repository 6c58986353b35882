// `openwsus demo --no-serve`: the README's main job, as a real process on a temp directory and
// free ports, with a small catalog and fleet. The three databases must hold what it printed:
// the replica the downstream's groups and approvals (one with a deadline), simulated computers
// on both, the root both servers and their computers through rollup, and the printed password
// the administrator's on all three. A second run reuses the data and adds nothing but a new
// password. The demo keeps its servers on SQLite (a fresh clone has no PostgreSQL).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { verifyPassword } from '../../src/admin/passwords.ts';
import type { Approval } from '../../src/domain/deployment.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { runCli, type CliResult } from '../support/cli.ts';

const CLIENTS = 2;
const work = mkdtempSync(join(tmpdir(), 'openwsus-demo-'));
after(() => rmSync(work, { recursive: true, force: true }));

function listen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** BASE with BASE, BASE+1 and BASE+2 free right now. */
async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    if ((await listen(base)) && (await listen(base + 1)) && (await listen(base + 2))) return base;
  }
  throw new Error('no three consecutive free ports');
}

async function withStore<T>(dir: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ dataDir: join(work, 'demo', dir) });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function approvalsOf(store: Store): Promise<Approval[]> {
  const out: Approval[] = [];
  for await (const a of store.approvals.iterate()) out.push(a);
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

async function runDemo(base: number): Promise<CliResult> {
  const result = await runCli(['demo', '--data', join(work, 'demo'), '--no-serve', '--updates', '150', '--clients', String(CLIENTS), '--port', String(base)], {
    env: { OPENWSUS_ADMIN_PASSWORD: '' },
    timeoutMs: 150_000,
  });
  assert.equal(result.code, 0, `demo: exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

function printedPassword(result: CliResult): string {
  const m = /sign in as\s+admin\s+\/\s+(\S+)/.exec(result.stdout);
  assert.ok(m, `no login in the output:\n${result.stdout}`);
  return m[1]!;
}

async function assertAdminPassword(password: string): Promise<void> {
  for (const dir of ['root', 'downstream', 'replica']) {
    const admin = await withStore(dir, (s) => s.accounts.credentials('admin'));
    assert.ok(admin !== undefined && admin.role === 'Administrators', `${dir}: no administrator "admin"`);
    assert.ok(await verifyPassword(password, admin.passwordHash), `${dir}: the printed password does not sign in as admin`);
  }
}

test('openwsus demo --no-serve builds the hierarchy, and a second run reuses it', async () => {
  const base = await freeBasePort();
  const first = await runDemo(base);
  for (let port = base; port < base + 3; port++) assert.match(first.stdout, new RegExp(`http://127\\.0\\.0\\.1:${port}/admin/`));
  // Progress went to stderr as it went.
  assert.match(first.stderr, /synchronizing from the root/);
  assert.match(first.stderr, /synchronizing from the downstream/);
  const password = printedPassword(first);
  await assertAdminPassword(password);

  const downstream = await withStore('downstream', async (s) => ({
    groups: (await s.groups.list()).map((g) => `${g.id} ${g.name}`).sort(),
    approvals: await approvalsOf(s),
    computers: await s.computers.list(),
    serverId: s.serverId,
    downstreams: (await s.downstreams.list()).map((d) => d.id),
  }));
  assert.ok(downstream.groups.some((g) => g.endsWith(' Pilot')) && downstream.groups.some((g) => g.endsWith(' Production')), `groups: ${downstream.groups.join(', ')}`);
  assert.ok(downstream.approvals.length >= 2, 'the downstream has approvals');
  assert.ok(downstream.approvals.some((a) => a.deadline !== undefined), 'one group has a deadline');
  assert.ok(downstream.approvals.some((a) => a.deadline === undefined), 'one group has none');
  assert.equal(downstream.computers.length, CLIENTS, 'the downstream fleet registered');
  assert.ok(downstream.computers.every((c) => c.lastReportAt !== undefined), 'every downstream computer reported');
  const groupId = (name: string) => downstream.groups.find((g) => g.endsWith(` ${name}`))!.split(' ')[0]!;
  assert.deepEqual(
    downstream.computers.map((c) => c.groupIds.includes(groupId('Pilot')) || c.groupIds.includes(groupId('Production'))),
    downstream.computers.map(() => true),
    'the computers are in the groups they named',
  );

  const replica = await withStore('replica', async (s) => ({
    groups: (await s.groups.list()).map((g) => `${g.id} ${g.name}`).sort(),
    approvals: await approvalsOf(s),
    computers: await s.computers.list(),
    replicaSetting: await s.settings.get('upstream.replica'),
    serverId: s.serverId,
  }));
  assert.equal(replica.replicaSetting, true);
  assert.deepEqual(replica.groups, downstream.groups, 'the replica has the downstream\'s groups');
  const key = (a: Approval) => `${a.id} ${a.updateId} ${a.revisionNumber} ${a.groupId} ${a.action} ${a.deadline === undefined ? '-' : Date.parse(a.deadline)}`;
  assert.deepEqual(replica.approvals.map(key), downstream.approvals.map(key), 'the replica holds the downstream\'s approvals');
  assert.equal(replica.computers.length, CLIENTS, 'the replica fleet registered');
  assert.deepEqual(downstream.downstreams, [replica.serverId], 'the replica synchronized from the downstream');

  const root = await withStore('root', async (s) => ({
    servers: (await s.rollup.servers()).map((r) => r.id).sort(),
    computers: (await s.rollup.computers()).length,
    revisions: (await s.catalog.stats()).revisions,
  }));
  assert.equal(root.revisions, 150);
  assert.deepEqual(root.servers, [downstream.serverId, replica.serverId].sort(), 'the root sees both servers through rollup');
  assert.equal(root.computers, 2 * CLIENTS, 'and their computers');

  // Again on the same data: nothing new but the password.
  const second = await runDemo(base);
  const again = printedPassword(second);
  assert.notEqual(again, password, 'each run sets a new password');
  await assertAdminPassword(again);
  assert.match(second.stderr, /0 approvals made/);
  await withStore('downstream', async (s) => {
    assert.deepEqual((await s.groups.list()).map((g) => `${g.id} ${g.name}`).sort(), downstream.groups, 'no group made twice');
    assert.deepEqual((await approvalsOf(s)).map(key), downstream.approvals.map(key), 'no approval made twice or changed');
    assert.equal((await s.computers.list()).length, CLIENTS, 'the same computers scanned again');
  });
  await withStore('replica', async (s) => assert.deepEqual((await approvalsOf(s)).map(key), downstream.approvals.map(key)));
  await withStore('root', async (s) => assert.equal((await s.rollup.computers()).length, 2 * CLIENTS));
});

test('openwsus demo --reset refuses a directory it did not make', async () => {
  const foreign = join(work, 'foreign');
  rmSync(foreign, { recursive: true, force: true });
  const precious = join(foreign, 'precious.txt');
  mkdirSync(foreign, { recursive: true });
  writeFileSync(precious, 'keep me');
  // --reset is the dangerous case; without it the same check refuses before anything is written.
  const refused = await runCli(['demo', '--data', foreign, '--reset', '--no-serve', '--port', '1']);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /does not look like a demo data directory/);
  assert.ok(existsSync(precious), 'nothing was removed');
  assert.ok(!existsSync(join(foreign, '.openwsus-demo')), 'nor marked as the demo\'s');
});
