// The replica phase against a store (sync/replica.ts, store/replica-repository.ts) with a scripted
// GetDeployments answer: group reshuffles the unique (parent, name) index would trip over, the
// wire decoding, and a deployment of a revision not held holding the anchor back until it is.
import assert from 'node:assert/strict';
import { NO_DEADLINE, NO_PARENT_GROUP } from '../../src/domain/replica-feed.ts';
import { ANCHORS } from '../../src/domain/sync-run.ts';
import { ALL_COMPUTERS_GROUP_ID, UNASSIGNED_COMPUTERS_GROUP_ID } from '../../src/domain/wellknown.ts';
import { DEFAULT_RESPONSE_LIMITS, readSoapEnvelope, SoapNode } from '../../src/soap/index.ts';
import type { Store } from '../../src/store/index.ts';
import { writeApprovals } from '../../src/store/deployment-repository.ts';
import { synchronizeDeployments } from '../../src/sync/replica.ts';
import type { UpstreamClient } from '../../src/sync/upstream-client.ts';
import { forEachBackend } from '../support/db.ts';
import { makeRevision } from '../store/records.ts';

const ALPHA = 'aaaaaaaa-0000-0000-0000-000000000001';
const BETA = 'aaaaaaaa-0000-0000-0000-000000000002';
const PARENT = 'aaaaaaaa-0000-0000-0000-000000000003';
const CHILD = 'aaaaaaaa-0000-0000-0000-000000000004';
const NEWCOMER = 'aaaaaaaa-0000-0000-0000-000000000005';
const U1 = '11111111-1111-1111-1111-111111111111';
const U2 = '22222222-2222-2222-2222-222222222222';
const U3 = '33333333-3333-3333-3333-333333333333';

interface WireGroup {
  id: string;
  name: string;
  parent?: string;
  builtin?: boolean;
}
interface WireDeployment {
  guid: string;
  updateId: string;
  revision: number;
  action: number;
  group: string;
  deadline?: string;
}

/** A GetDeploymentsResult as our upstream writes it (services/upstream/deployments.ts). */
function answer(anchor: string, groups: WireGroup[], deployments: WireDeployment[], dead: string[] = [], hidden: string[] = []): SoapNode {
  const guids = (name: string, ids: string[]): string => `<${name}>${ids.map((id) => `<guid>${id}</guid>`).join('')}</${name}>`;
  const xml =
    `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetDeploymentsResponse xmlns="http://www.microsoft.com/SoftwareDistribution"><GetDeploymentsResult>` +
    `<Anchor>${anchor}</Anchor>` +
    `<Groups>${groups
      .map((g) => `<ServerSyncTargetGroup><TargetGroupID>${g.id}</TargetGroupID><ParentGroupId>${g.parent ?? NO_PARENT_GROUP}</ParentGroupId><Name>${g.name}</Name><IsBuiltin>${g.builtin ? 'true' : 'false'}</IsBuiltin></ServerSyncTargetGroup>`)
      .join('')}</Groups>` +
    `<Deployments>${deployments
      .map(
        (d) =>
          `<ServerSyncDeployment><UpdateId>${d.updateId}</UpdateId><RevisionNumber>${d.revision}</RevisionNumber><Action>${d.action}</Action><AdminName>alice</AdminName>` +
          `<Deadline>${d.deadline ?? NO_DEADLINE}</Deadline><IsAssigned>true</IsAssigned><GoLiveTime>2026-11-01T08:00:00Z</GoLiveTime><DeploymentGuid>${d.guid}</DeploymentGuid>` +
          `<TargetGroupId>${d.group}</TargetGroupId><DownloadPriority>1</DownloadPriority></ServerSyncDeployment>`,
      )
      .join('')}</Deployments>` +
    guids('DeadDeployments', dead) +
    guids('HiddenUpdates', hidden) +
    '<AcceptedEulas/></GetDeploymentsResult></GetDeploymentsResponse></s:Body></s:Envelope>';
  const envelope = readSoapEnvelope(xml, DEFAULT_RESPONSE_LIMITS);
  return new SoapNode(envelope.content, '').need('GetDeploymentsResult');
}

/** A client whose GetDeployments answers in turn, recording the anchors it was sent. */
function scripted(answers: SoapNode[]): { client: UpstreamClient; sent: (string | undefined)[][] } {
  const sent: (string | undefined)[][] = [];
  const client = {
    getDeployments: async (deploymentAnchor: string | undefined, syncAnchor: string | undefined) => {
      sent.push([deploymentAnchor, syncAnchor]);
      const next = answers.shift();
      if (next === undefined) throw new Error('no more answers');
      return next;
    },
  } as unknown as UpstreamClient;
  return { client, sent };
}

const BUILTINS: WireGroup[] = [
  { id: ALL_COMPUTERS_GROUP_ID, name: 'All Computers', builtin: true },
  { id: UNASSIGNED_COMPUTERS_GROUP_ID, name: 'Unassigned Computers', parent: ALL_COMPUTERS_GROUP_ID, builtin: true },
];

async function groupsOf(store: Store): Promise<string[]> {
  return (await store.groups.list()).map((g) => `${g.id}:${g.name}:${g.parentId ?? '-'}`).sort();
}

forEachBackend('groups are reshuffled as the upstream did: names swapped, a name reused, a child moved out of a deleted parent', async ({ store }) => {
  await store.groups.upsert([
    { id: ALPHA, name: 'Alpha', parentId: ALL_COMPUTERS_GROUP_ID, builtin: false },
    { id: BETA, name: 'Beta', parentId: ALL_COMPUTERS_GROUP_ID, builtin: false },
    { id: PARENT, name: 'Parent', parentId: ALL_COMPUTERS_GROUP_ID, builtin: false },
    { id: CHILD, name: 'Child', parentId: PARENT, builtin: false },
  ]);
  await store.transaction((tx) =>
    writeApprovals({ db: tx.db, dialect: store.dialect }, [
      { id: 'dddddddd-0000-0000-0000-000000000001', updateId: U1, revisionNumber: 1, groupId: PARENT, action: 'Install', adminName: 'x', createdAt: '2026-01-01T00:00:00.000Z' },
    ]),
  );
  const { client, sent } = scripted([
    answer('anchor-1', [
      ...BUILTINS,
      { id: ALPHA, name: 'Beta', parent: ALL_COMPUTERS_GROUP_ID },
      { id: BETA, name: 'Alpha', parent: ALL_COMPUTERS_GROUP_ID },
      { id: NEWCOMER, name: 'Parent', parent: ALL_COMPUTERS_GROUP_ID },
      { id: CHILD, name: 'Child', parent: NEWCOMER },
    ], []),
  ]);
  const before = await store.changes.current();
  const report = await synchronizeDeployments(store, client);
  assert.deepEqual(sent, [[undefined, undefined]]);
  assert.deepEqual(
    await groupsOf(store),
    [
      `${ALL_COMPUTERS_GROUP_ID}:All Computers:-`,
      `${ALPHA}:Beta:${ALL_COMPUTERS_GROUP_ID}`,
      `${BETA}:Alpha:${ALL_COMPUTERS_GROUP_ID}`,
      `${CHILD}:Child:${NEWCOMER}`,
      `${NEWCOMER}:Parent:${ALL_COMPUTERS_GROUP_ID}`,
      `${UNASSIGNED_COMPUTERS_GROUP_ID}:Unassigned Computers:${ALL_COMPUTERS_GROUP_ID}`,
    ].sort(),
  );
  assert.equal(report.groupsDeleted, 1);
  assert.equal(report.approvalsDeleted, 1, 'the deleted group\'s approval went with it');
  assert.ok((await store.changes.current()) > before, 'clients see the change');
  assert.equal(await store.anchors.get(ANCHORS.deployments), 'anchor-1');
});

forEachBackend('a deployment of a revision not held is retried from the old anchor until the revision arrives', async ({ store }) => {
  const { client, sent } = scripted([
    answer('anchor-1', BUILTINS, [{ guid: 'dddddddd-0000-0000-0000-00000000000a', updateId: U1, revision: 5, action: 3, group: ALL_COMPUTERS_GROUP_ID, deadline: '2026-12-24T18:00:00Z' }], [], [U3]),
    answer('anchor-2', BUILTINS, [{ guid: 'dddddddd-0000-0000-0000-00000000000a', updateId: U1, revision: 5, action: 3, group: ALL_COMPUTERS_GROUP_ID, deadline: '2026-12-24T18:00:00Z' }], [], [U3]),
    answer('anchor-3', BUILTINS, [{ guid: 'dddddddd-0000-0000-0000-00000000000b', updateId: U2, revision: 1, action: 0, group: ALL_COMPUTERS_GROUP_ID }]),
  ]);
  await store.anchors.set(ANCHORS.updates, 'sync-anchor');

  const first = await synchronizeDeployments(store, client);
  assert.deepEqual({ skipped: first.skipped, advanced: first.anchorAdvanced, declines: first.declinesAdded }, { skipped: 1, advanced: false, declines: 1 });
  assert.equal(await store.anchors.get(ANCHORS.deployments), undefined, 'the anchor stays before the skipped deployment');
  assert.deepEqual((await store.declines.list()).map((d) => d.updateId), [U3], 'the rest is applied');

  // The same answer again (the anchor did not move): still skipped, nothing else changes.
  const position = await store.changes.current();
  const second = await synchronizeDeployments(store, client);
  assert.deepEqual({ skipped: second.skipped, advanced: second.anchorAdvanced, declines: second.declinesAdded }, { skipped: 1, advanced: false, declines: 0 });
  assert.equal(await store.changes.current(), position, 'a repeated answer changes nothing');

  // The revision arrives with the next metadata sync: the deployment is applied, the anchor moves.
  await store.catalog.upsertRevisions([makeRevision({ updateId: U1, revisionNumber: 5 }), makeRevision({ updateId: U2, revisionNumber: 1 })]);
  const third = scripted([
    answer('anchor-2', BUILTINS, [{ guid: 'dddddddd-0000-0000-0000-00000000000a', updateId: U1, revision: 5, action: 3, group: ALL_COMPUTERS_GROUP_ID, deadline: '2026-12-24T18:00:00Z' }], [], [U3]),
  ]);
  const applied = await synchronizeDeployments(store, third.client);
  assert.deepEqual({ skipped: applied.skipped, advanced: applied.anchorAdvanced, upserted: applied.approvalsUpserted }, { skipped: 0, advanced: true, upserted: 1 });
  assert.equal(await store.anchors.get(ANCHORS.deployments), 'anchor-2');
  const approvals = await store.approvals.ofUpdate(U1);
  assert.deepEqual(
    approvals.map((a) => ({ id: a.id, action: a.action, deadline: a.deadline, createdAt: a.createdAt, revision: a.revisionNumber })),
    [{ id: 'dddddddd-0000-0000-0000-00000000000a', action: 'Block', deadline: '2026-12-24T18:00:00.000Z', createdAt: '2026-11-01T08:00:00.000Z', revision: 5 }],
  );

  // Next time from the new anchor; a no-deadline Install decodes to no deadline.
  const last = await synchronizeDeployments(store, client);
  assert.equal(last.approvalsUpserted, 1);
  assert.deepEqual(sent, [
    [undefined, 'sync-anchor'],
    [undefined, 'sync-anchor'],
    ['anchor-2', 'sync-anchor'],
  ]);
  assert.deepEqual((await store.approvals.ofUpdate(U2)).map((a) => [a.action, a.deadline]), [['Install', undefined]]);
});
