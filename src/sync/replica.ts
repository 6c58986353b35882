// The deployments phase of a replica downstream server (WSUS-PROTOCOLS §2.8): after the metadata
// phases, GetDeployments with the stored deployment anchor and the updates phase's sync anchor,
// then the local groups, approvals and declines made the upstream's (domain/replica-mirror.ts),
// in one transaction with the new deployment anchor: a crash repeats the call, never half of it.
import type { Approval, ComputerGroup } from '../domain/deployment.ts';
import { decodeDeadline, decodeDeploymentAction, decodeParentGroup, planMirror, type DeploymentFeed } from '../domain/replica-mirror.ts';
import { ANCHORS } from '../domain/sync-run.ts';
import type { SoapNode } from '../soap/index.ts';
import type { Store } from '../store/index.ts';
import { ReplicaRepository, type MirrorCounts } from '../store/replica-repository.ts';
import { UpstreamProtocolError, type UpstreamClient } from './upstream-client.ts';

export interface DeploymentsReport extends MirrorCounts {
  /** Deployments the upstream sent. */
  readonly received: number;
  /** Deployments of revisions (or groups) not held: asked for again next time. */
  readonly skipped: number;
  /** Deployments with an Action openwsus has no approval for (e.g. WSUS's Bundle): left out. */
  readonly ignored: number;
  /** Whether the deployment anchor moved (false while something is skipped). */
  readonly anchorAdvanced: boolean;
}

/** The GetDeployments result as plain values; `ignored` counts deployments of unknown actions. */
export function readDeploymentFeed(r: SoapNode): { feed: DeploymentFeed; ignored: number } {
  const groups: ComputerGroup[] = r.list('Groups').map((g) => {
    const parentId = decodeParentGroup(g.optGuid('ParentGroupId'));
    return { id: g.guid('TargetGroupID'), name: g.string('Name'), builtin: g.optBool('IsBuiltin') ?? false, ...(parentId !== undefined && { parentId }) };
  });
  let ignored = 0;
  const deployments: Approval[] = [];
  for (const d of r.list('Deployments')) {
    const action = decodeDeploymentAction(d.int('Action'));
    if (action === undefined) {
      ignored++;
      continue;
    }
    let deadline: string | undefined;
    try {
      deadline = decodeDeadline(d.optString('Deadline'));
    } catch (error) {
      throw new UpstreamProtocolError(`GetDeployments: ${(error as Error).message}`);
    }
    deployments.push({
      id: d.guid('DeploymentGuid'),
      updateId: d.guid('UpdateId'),
      revisionNumber: d.int('RevisionNumber'),
      groupId: d.guid('TargetGroupId'),
      action,
      adminName: d.optString('AdminName') ?? '',
      createdAt: d.dateTime('GoLiveTime').toISOString(),
      ...(deadline !== undefined && { deadline }),
    });
  }
  const anchor = r.optString('Anchor') ?? '';
  return {
    feed: { anchor, groups, deployments, dead: r.guids('DeadDeployments'), hidden: r.guids('HiddenUpdates') },
    ignored,
  };
}

/** Runs the deployments phase: one GetDeployments call, applied with its anchor in one transaction. */
export async function synchronizeDeployments(store: Store, client: UpstreamClient): Promise<DeploymentsReport> {
  const [deploymentAnchor, syncAnchor] = await Promise.all([store.anchors.get(ANCHORS.deployments), store.anchors.get(ANCHORS.updates)]);
  const nonEmpty = (a: string | undefined): string | undefined => (a === undefined || a === '' ? undefined : a);
  const sentAnchor = nonEmpty(deploymentAnchor);
  const { feed, ignored } = readDeploymentFeed(await client.getDeployments(sentAnchor, nonEmpty(syncAnchor)));
  return store.transaction(async (tx) => {
    const repository = new ReplicaRepository({ db: tx.db, dialect: store.dialect });
    const local = await repository.localState();
    const held = await repository.heldRevisions(feed.deployments);
    // Without an anchor the answer is the upstream's whole state, so what it lacks goes.
    const plan = planMirror(local, feed, sentAnchor === undefined, (updateId, revisionNumber) => held.has(`${updateId}/${revisionNumber}`));
    const counts = await repository.apply(plan);
    // A skipped deployment would be lost past the new anchor: keep the old one so it comes again.
    if (plan.advanceAnchor && feed.anchor !== '') await tx.anchors.set(ANCHORS.deployments, feed.anchor);
    return { ...counts, received: feed.deployments.length + ignored, skipped: plan.skipped.length, ignored, anchorAdvanced: plan.advanceAnchor && feed.anchor !== '' };
  });
}
