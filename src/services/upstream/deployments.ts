// GetDeployments (WSUS-PROTOCOLS §2.8): what a replica downstream server mirrors. The caller is
// marked a replica. Element order follows the WSDL (Reference.cs of the MS sample): Anchor, Groups,
// Deployments, DeadDeployments, HiddenUpdates, AcceptedEulas.
import { changesSincePosition, formatAnchor, readAnchorParameter, type AnchorParameter } from '../../domain/anchor.ts';
import { declineDeploymentId, DEPLOYMENT_ACTION_CODES, NO_DEADLINE, NO_PARENT_GROUP, selectDeployments } from '../../domain/replica-feed.ts';
import { invalidParameter, type SoapHandler } from '../../soap/index.ts';
import type { UpstreamContext } from './context.ts';
import { readOptionalText } from './wire.ts';

/** WSUS's "normal" download priority; openwsus has no other. */
const DOWNLOAD_PRIORITY_NORMAL = 1;

function anchorParameter(text: string | undefined, name: string): AnchorParameter {
  const parameter = readAnchorParameter(text);
  if (parameter.kind === 'invalid') throw invalidParameter(name, 'not an anchor this server issued');
  return parameter;
}

export function getDeployments(ctx: UpstreamContext): SoapHandler {
  return async (op, request) => {
    const claims = await ctx.cookies.verify(op);
    const deploymentAnchor = anchorParameter(readOptionalText(op, 'deploymentAnchor'), 'deploymentAnchor');
    const syncAnchor = anchorParameter(readOptionalText(op, 'syncAnchor'), 'syncAnchor');
    const store = ctx.store;
    await store.downstreams.touch(claims.downstreamId, { isReplica: true }, ctx.now().toISOString());
    // Before reading the position: a deployment found dead now takes a position the anchor covers.
    await store.deploymentFeed.markDead();
    const current = await store.changes.current();
    const since = changesSincePosition(deploymentAnchor.kind === 'anchor' ? deploymentAnchor.anchor : undefined, current);
    const syncPosition = syncAnchor.kind === 'anchor' ? Math.min(syncAnchor.anchor.position, current) : undefined;

    const [groups, changed, declines, dead, reinstated] = await Promise.all([
      store.groups.list(),
      store.deploymentFeed.approvalsChangedSince(since),
      store.deploymentFeed.declinesChangedSince(since),
      // A replica without an anchor holds no deployment that could have died.
      since === undefined ? Promise.resolve([]) : store.deploymentFeed.deadSince(since),
      // Nor a decline that could have been taken back: a full answer's HiddenUpdates says it all.
      since === undefined ? Promise.resolve([]) : store.deploymentFeed.reinstatedSince(since),
    ]);
    const selection = selectDeployments(changed, syncPosition, current);
    await store.deploymentFeed.announce(selection.send.map((a) => a.id));

    return request.result((x) =>
      x
        .element('Anchor', formatAnchor(selection.anchorPosition, ctx.now()))
        .list('Groups', groups, (b, g) =>
          b
            .start('ServerSyncTargetGroup')
            .element('TargetGroupID', g.id)
            .element('ParentGroupId', g.parentId ?? NO_PARENT_GROUP)
            .element('Name', g.name)
            .element('IsBuiltin', g.builtin)
            .end(),
        )
        .list('Deployments', selection.send, (b, a) =>
          b
            .start('ServerSyncDeployment')
            .element('UpdateId', a.updateId)
            .element('RevisionNumber', a.revisionNumber)
            .element('Action', DEPLOYMENT_ACTION_CODES[a.action])
            .element('AdminName', a.adminName)
            .element('Deadline', a.deadline === undefined ? NO_DEADLINE : new Date(a.deadline))
            .element('IsAssigned', true)
            .element('GoLiveTime', new Date(a.createdAt))
            .element('DeploymentGuid', a.id)
            .element('TargetGroupId', a.groupId)
            .element('DownloadPriority', DOWNLOAD_PRIORITY_NORMAL)
            .end(),
        )
        .list('DeadDeployments', 'guid', [...dead, ...reinstated.map(declineDeploymentId)])
        .list('HiddenUpdates', 'guid', [...new Set(declines.map((d) => d.updateId))])
        .list('AcceptedEulas', 'guid', []),
    );
  };
}
