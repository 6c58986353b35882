// An update reinstated upstream reaches its replica through an incremental GetDeployments: the
// upstream (the real ServerSync handler, in this process) lists the decline's deployment GUID
// among the DeadDeployments, the replica (sync/replica.ts on a second store) drops that decline
// and logs the reinstatement so its own replicas learn it in turn. A decline taken back and given
// again before the replica asks is no reinstatement at all.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { declineDeploymentId } from '../../src/domain/replica-feed.ts';
import { openStore } from '../../src/store/index.ts';
import { synchronizeDeployments } from '../../src/sync/replica.ts';
import type { UpstreamClient } from '../../src/sync/upstream-client.ts';
import { forEachBackend } from '../support/db.ts';
import { cookieXml, handshake, withUpstream } from '../services/upstream-harness.ts';
import { guid, makeRevision } from '../store/records.ts';

const U = (n: number) => guid(n, 'reinstate');

forEachBackend('an update reinstated upstream is no longer declined on its replica after the next incremental sync', async ({ t, store: upstream }) => {
  const dir = mkdtempSync(join(tmpdir(), 'openwsus-replica-reinstate-'));
  const replica = await openStore({ dataDir: dir });
  t.after(async () => {
    await replica.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const catalog = [1, 2, 3].map((n) => makeRevision({ updateId: U(n), revisionNumber: 100 }));
  await upstream.catalog.upsertRevisions(catalog);
  await replica.catalog.upsertRevisions(catalog);
  const decline = (...ids: string[]) => upstream.declines.upsert(ids.map((updateId) => ({ updateId, adminName: 'admin', declinedAt: '2026-11-01T00:00:00.000Z' })));
  await decline(U(1), U(2), U(3));
  const declinedOnReplica = async () => (await replica.declines.list()).map((d) => d.updateId).sort();

  await withUpstream(upstream, async (u) => {
    const cookie = await handshake(u);
    const dead: string[][] = [];
    const client = {
      getDeployments: async (deploymentAnchor: string | undefined, syncAnchor: string | undefined) => {
        const body = cookieXml(cookie) + (deploymentAnchor === undefined ? '' : `<deploymentAnchor>${deploymentAnchor}</deploymentAnchor>`) + (syncAnchor === undefined ? '' : `<syncAnchor>${syncAnchor}</syncAnchor>`);
        const result = (await u.call('GetDeployments', body)).result!;
        dead.push(result.guids('DeadDeployments'));
        return result;
      },
    } as unknown as UpstreamClient;

    await synchronizeDeployments(replica, client);
    assert.deepEqual(await declinedOnReplica(), [U(1), U(2), U(3)].sort());

    // U1 reinstated; U2 reinstated and declined again before the replica asks.
    assert.equal(await upstream.declines.reinstate(U(1)), true);
    assert.equal(await upstream.declines.reinstate(U(2)), true);
    await decline(U(2));
    const report = await synchronizeDeployments(replica, client);
    assert.deepEqual(dead.at(-1), [declineDeploymentId(U(1))]);
    assert.equal(report.declinesRemoved, 1);
    assert.deepEqual(await declinedOnReplica(), [U(2), U(3)].sort());
    // Its own replicas learn it from its change log, as from a local reinstate.
    assert.deepEqual(await replica.deploymentFeed.reinstatedSince(0), [U(1)]);

    // Said once: the next answer reports nothing, and the decline stays gone.
    await synchronizeDeployments(replica, client);
    assert.deepEqual(dead.at(-1), []);
    assert.deepEqual(await declinedOnReplica(), [U(2), U(3)].sort());
  });
});
