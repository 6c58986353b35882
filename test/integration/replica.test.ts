// Replica mode across processes (WSUS-PROTOCOLS §2.8): a root `openwsus serve`, an autonomous
// downstream A synchronized from it with `openwsus sync`, then A serving and a replica B
// (`upstream.replica = true`) synchronized from A, on each backend:
//
// 1. B's first sync leaves it with A's revisions (its own narrower selection ignored), groups,
//    approvals and declines exactly;
// 2. B refuses local changes: `config set products`, approvals, declines and groups through the
//    store paths the CLI uses, each with the replica message;
// 3. A changes an approval (a new deployment of the same update and group) and deletes a group:
//    the next sync of B brings each change once, and B equals A again;
// 4. a further sync with nothing changed upstream changes nothing on B.
//
// Groups, approvals and declines are made on A through its store (no CLI for them is assumed),
// while A is not writing.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeGeneratedCatalog } from '../../src/catalog/export.ts';
import type { Approval } from '../../src/domain/deployment.ts';
import { ReplicaChangeRefused } from '../../src/domain/replica-guard.ts';
import { ANCHORS } from '../../src/domain/sync-run.ts';
import type { RevisionKey } from '../../src/domain/update.ts';
import { ALL_COMPUTERS_GROUP_ID, CLASSIFICATIONS, WINDOWS_PRODUCT_FAMILY_ID } from '../../src/domain/wellknown.ts';
import type { Store } from '../../src/store/index.ts';
import { ok, runCli, stdoutJson, type CliResult } from '../support/cli.ts';
import { availableBackends } from '../support/db.ts';
import { withStoreAt } from '../support/store.ts';
import { createBackendDatabase, startServeProcess } from '../support/server-process.ts';

const CLASSES = [CLASSIFICATIONS.securityUpdates, CLASSIFICATIONS.criticalUpdates, CLASSIFICATIONS.updates, CLASSIFICATIONS.definitionUpdates];

const work = mkdtempSync(join(tmpdir(), 'openwsus-it-replica-'));
after(() => rmSync(work, { recursive: true, force: true }));
const catalogFile = join(work, 'base.owx');
await writeGeneratedCatalog({ updates: 200, seed: 'replica' }, catalogFile);

interface DeploymentsSummary {
  readonly groupsUpserted: number;
  readonly groupsDeleted: number;
  readonly approvalsUpserted: number;
  readonly approvalsDeleted: number;
  readonly declinesAdded: number;
  readonly declinesRemoved: number;
  readonly received: number;
  readonly skipped: number;
  readonly anchorAdvanced: boolean;
}

interface SyncSummary {
  readonly result: string;
  readonly deployments?: DeploymentsSummary;
}

/** Groups, approvals and declines in a comparable form (times as instants: formats may differ). */
async function deploymentState(store: Store): Promise<unknown> {
  const approvals: Approval[] = [];
  for await (const a of store.approvals.iterate()) approvals.push(a);
  return {
    groups: (await store.groups.list()).map((g) => ({ id: g.id, name: g.name, parentId: g.parentId ?? null, builtin: g.builtin })).sort((a, b) => a.id.localeCompare(b.id)),
    approvals: approvals
      .map((a) => ({
        id: a.id,
        updateId: a.updateId,
        revisionNumber: a.revisionNumber,
        groupId: a.groupId,
        action: a.action,
        adminName: a.adminName,
        createdAt: Date.parse(a.createdAt),
        deadline: a.deadline === undefined ? null : Date.parse(a.deadline),
      }))
      .sort((a, b) => a.id.localeCompare(b.id)),
    declines: (await store.declines.list()).map((d) => d.updateId).sort(),
  };
}

const SERVERS = randomUUID();
const WEB = randomUUID();
const KIOSKS = randomUUID();

for (const dialect of availableBackends()) {
  test(`a replica mirrors an autonomous downstream's approvals, groups and declines, and refuses local changes [${dialect}]`, { timeout: 600_000 }, async (t) => {
    const dirs = { root: mkdtempSync(join(work, 'root-')), a: mkdtempSync(join(work, 'a-')), b: mkdtempSync(join(work, 'b-')), c: mkdtempSync(join(work, 'c-')) };
    const dbs = {
      root: await createBackendDatabase(dialect, dirs.root),
      a: await createBackendDatabase(dialect, dirs.a),
      b: await createBackendDatabase(dialect, dirs.b),
      c: await createBackendDatabase(dialect, dirs.c),
    };
    t.after(async () => {
      for (const db of Object.values(dbs)) await db.drop();
    });
    const cli = (who: 'root' | 'a' | 'b' | 'c', ...args: string[]): Promise<CliResult> => runCli(['--data', dirs[who], '--database', dbs[who].url, ...args]);
    // One `config set` with every pair: a process start is most of what a command costs here.
    const configure = async (who: 'a' | 'b' | 'c', port: number, extra: readonly string[] = []): Promise<void> => {
      const pairs = ['upstream.source', 'server', 'upstream.server', '127.0.0.1', 'upstream.port', String(port), 'products', WINDOWS_PRODUCT_FAMILY_ID, 'classifications', CLASSES.join(','), ...extra];
      ok(await cli(who, 'config', 'set', ...pairs), `${who}: config set`);
    };
    const sync = async (who: 'a' | 'b' | 'c'): Promise<SyncSummary> => stdoutJson<SyncSummary>(ok(await cli(who, 'sync', '--json'), `${who}: sync`));

    // The root, and A synchronized from it.
    ok(await cli('root', 'import', catalogFile), 'root import');
    const root = await startServeProcess({ dataDir: dirs.root, database: dbs.root.url });
    t.after(() => root.stop());
    await configure('a', root.port);
    assert.equal((await sync('a')).deployments, undefined, 'an autonomous server asks for no deployments');

    // A's administrator makes groups, approves and declines.
    const approved = await withStoreAt(dbs.a.url, async (store) => {
      const updates: RevisionKey[] = [];
      for await (const r of store.catalog.iterate({ latestOnly: true })) {
        if (r.updateType === 'Software' && r.publicationState !== 'Expired') updates.push(r.key);
        if (updates.length === 5) break;
      }
      assert.equal(updates.length, 5, 'A holds updates to approve');
      await store.groups.upsert([
        { id: SERVERS, name: 'Servers', parentId: ALL_COMPUTERS_GROUP_ID, builtin: false },
        { id: WEB, name: 'Web', parentId: SERVERS, builtin: false },
        { id: KIOSKS, name: 'Kiosks', parentId: ALL_COMPUTERS_GROUP_ID, builtin: false },
      ]);
      const at = '2026-11-01T08:00:00.000Z';
      const approve = (i: number, groupId: string, action: Approval['action'], deadline?: string): Approval => ({
        id: randomUUID(),
        updateId: updates[i]!.updateId,
        revisionNumber: updates[i]!.revisionNumber,
        groupId,
        action,
        adminName: 'alice',
        createdAt: at,
        ...(deadline !== undefined && { deadline }),
      });
      await store.approvals.upsert([
        approve(0, SERVERS, 'Install', '2026-12-24T18:00:00Z'),
        approve(1, WEB, 'Uninstall'),
        approve(2, KIOSKS, 'Block'),
        approve(3, ALL_COMPUTERS_GROUP_ID, 'PreDeploymentCheck'),
      ]);
      await store.declines.upsert([{ updateId: updates[4]!.updateId, adminName: 'alice', declinedAt: at }]);
      return updates;
    });

    const a = await startServeProcess({ dataDir: dirs.a, database: dbs.a.url });
    t.after(() => a.stop());
    // B's selection, set before it became a replica, is narrower than A's: a replica takes what
    // its upstream has whatever it says (no product or classification list is sent).
    await configure('b', a.port, ['classifications', CLASSIFICATIONS.definitionUpdates, 'upstream.replica', 'true']);
    const replicaMessage = `this server is a replica of http://127.0.0.1:${a.port}: approvals, groups, declines, products and classifications come from the upstream; change them there`;

    // 1. The first sync: B equals A. A declined one update by hand, and its automatic approval
    //    rules (approvals.declineExpired) may have declined expired ones during its own sync.
    const declinesOnA = await withStoreAt(dbs.a.url, async (store) => (await store.declines.list()).length);
    assert.ok(declinesOnA >= 1);
    const first = await sync('b');
    assert.equal(first.result, 'succeeded');
    assert.deepEqual(
      { ...first.deployments, received: undefined },
      { groupsUpserted: 3, groupsDeleted: 0, approvalsUpserted: 4, approvalsDeleted: 0, declinesAdded: declinesOnA, declinesRemoved: 0, received: undefined, skipped: 0, ignored: 0, anchorAdvanced: true },
    );
    const revisions = async (store: Store): Promise<string[]> => {
      const keys: string[] = [];
      for await (const r of store.catalog.iterate({})) keys.push(`${r.key.updateId}/${r.key.revisionNumber}`);
      return keys.sort();
    };
    const revisionsOfA = await withStoreAt(dbs.a.url, revisions);
    assert.deepEqual(await withStoreAt(dbs.b.url, revisions), revisionsOfA, 'B holds every revision A has, not only its own selection');
    const stateA = await withStoreAt(dbs.a.url, deploymentState);
    assert.deepEqual(await withStoreAt(dbs.b.url, deploymentState), stateA, 'B holds A\'s groups, approvals and declines');

    // 2. Local changes are refused on B.
    const products = await cli('b', 'config', 'set', 'products', WINDOWS_PRODUCT_FAMILY_ID);
    assert.equal(products.code, 1, products.stderr);
    assert.equal(products.stderr, `openwsus: cannot set products: ${replicaMessage}\n`);
    const classifications = await cli('b', 'config', 'unset', 'classifications');
    assert.equal(classifications.code, 1);
    assert.match(classifications.stderr, /cannot unset classifications: this server is a replica of/);
    ok(await cli('b', 'config', 'set', 'languages', 'en'), 'settings of its own still change on a replica');
    // The administration commands go through the guarded store paths.
    const approve = await cli('b', 'updates', 'approve', approved[0]!.updateId, '--group', 'Web', '--action', 'install');
    assert.equal(approve.code, 1, approve.stderr);
    assert.equal(approve.stderr, `openwsus: cannot change approvals: ${replicaMessage}\n`);
    const create = await cli('b', 'groups', 'create', 'Local');
    assert.equal(create.code, 1, create.stderr);
    assert.equal(create.stderr, `openwsus: cannot create groups: ${replicaMessage}\n`);
    await withStoreAt(dbs.b.url, async (store) => {
      const refused = (what: string) => (error: unknown) => error instanceof ReplicaChangeRefused && error.message === `cannot ${what}: ${replicaMessage}`;
      const local: Approval = { id: randomUUID(), updateId: approved[4]!.updateId, revisionNumber: approved[4]!.revisionNumber, groupId: SERVERS, action: 'Install', adminName: 'bob', createdAt: new Date().toISOString() };
      await assert.rejects(store.approvals.upsert([local]), refused('change approvals'));
      await assert.rejects(store.declines.upsert([{ updateId: approved[0]!.updateId, adminName: 'bob', declinedAt: new Date().toISOString() }]), refused('decline updates'));
      await assert.rejects(store.approvals.remove(approved[0]!.updateId, SERVERS), refused('change approvals'));
      await assert.rejects(store.groups.create({ id: randomUUID(), name: 'Local', parentId: ALL_COMPUTERS_GROUP_ID }), refused('create groups'));
      await assert.rejects(store.groups.delete(KIOSKS), refused('delete groups'));
    });
    assert.deepEqual(await withStoreAt(dbs.b.url, deploymentState), stateA, 'the refused changes left B as it was');

    // 3. A approves the first update again (a new deployment) and deletes Kiosks.
    const replaced = await withStoreAt(dbs.a.url, async (store) => {
      const fresh: Approval = {
        id: randomUUID(),
        updateId: approved[0]!.updateId,
        revisionNumber: approved[0]!.revisionNumber,
        groupId: SERVERS,
        action: 'Install',
        adminName: 'carol',
        createdAt: '2026-11-02T09:30:00.000Z',
      };
      assert.equal(await store.approvals.upsert([fresh]), 1);
      const deleted = await store.groups.delete(KIOSKS);
      assert.deepEqual(deleted, { deleted: true, approvalsRemoved: 1 });
      return fresh;
    });
    const second = await sync('b');
    assert.deepEqual(
      { ...second.deployments, received: undefined },
      { groupsUpserted: 0, groupsDeleted: 1, approvalsUpserted: 1, approvalsDeleted: 1, declinesAdded: 0, declinesRemoved: 0, received: undefined, skipped: 0, ignored: 0, anchorAdvanced: true },
      'the new deployment replaces the old one in place; the deleted group goes with its approval',
    );
    const stateA2 = await withStoreAt(dbs.a.url, deploymentState);
    assert.deepEqual(await withStoreAt(dbs.b.url, deploymentState), stateA2, 'B equals A again');
    const onB = await withStoreAt(dbs.b.url, (store) => store.approvals.ofUpdate(replaced.updateId));
    assert.deepEqual(onB.map((x) => [x.id, x.adminName, x.deadline]), [[replaced.id, 'carol', undefined]]);

    // 4. Nothing changed upstream: nothing changes on B, not even the change sequence.
    const before = await withStoreAt(dbs.b.url, async (store) => ({ position: await store.changes.current(), anchor: await store.anchors.get(ANCHORS.deployments) }));
    const third = await sync('b');
    assert.deepEqual(
      { ...third.deployments, received: undefined },
      { groupsUpserted: 0, groupsDeleted: 0, approvalsUpserted: 0, approvalsDeleted: 0, declinesAdded: 0, declinesRemoved: 0, received: undefined, skipped: 0, ignored: 0, anchorAdvanced: true },
    );
    const afterThird = await withStoreAt(dbs.b.url, async (store) => ({ position: await store.changes.current(), anchor: await store.anchors.get(ANCHORS.deployments) }));
    assert.equal(afterThird.position, before.position, 'no change position taken');
    assert.ok(afterThird.anchor, 'the deployment anchor is kept');
    assert.deepEqual(await withStoreAt(dbs.b.url, deploymentState), stateA2);

    // 5. A replica of the replica: C mirrors B, and a change made on A reaches C through B.
    const b = await startServeProcess({ dataDir: dirs.b, database: dbs.b.url });
    t.after(() => b.stop());
    await configure('c', b.port, ['upstream.replica', 'true']);
    assert.equal((await sync('c')).deployments?.approvalsUpserted, 3);
    assert.deepEqual(await withStoreAt(dbs.c.url, deploymentState), stateA2, 'C holds what A has, through B');
    await withStoreAt(dbs.a.url, async (store) => {
      await store.approvals.upsert([{ ...replaced, id: randomUUID(), action: 'Block', adminName: 'dave', createdAt: '2026-11-03T10:00:00.000Z' }]);
      await store.declines.upsert([{ updateId: approved[2]!.updateId, adminName: 'dave', declinedAt: '2026-11-03T10:00:00.000Z' }]);
    });
    const viaB = await sync('b');
    assert.deepEqual([viaB.deployments?.approvalsUpserted, viaB.deployments?.declinesAdded], [1, 1]);
    const viaC = await sync('c');
    assert.deepEqual([viaC.deployments?.approvalsUpserted, viaC.deployments?.approvalsDeleted, viaC.deployments?.declinesAdded], [1, 0, 1]);
    const stateA3 = await withStoreAt(dbs.a.url, deploymentState);
    assert.deepEqual(await withStoreAt(dbs.b.url, deploymentState), stateA3);
    assert.deepEqual(await withStoreAt(dbs.c.url, deploymentState), stateA3, 'C equals A after one sync of each');
  });
}
