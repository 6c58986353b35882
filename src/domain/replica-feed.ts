// What GetDeployments gives a replica downstream server (WSUS-PROTOCOLS §2.8, MS-WSUSSS 3.2.4.3):
// every group (the replica deletes groups missing from the list), the approvals changed since its
// deployment anchor, deployments that died since (replaced or removed approvals), declined updates
// as hidden updates.
import { createHash } from 'node:crypto';
import type { Approval, ApprovalAction } from './deployment.ts';

/** Namespace of the GUIDs below (a random v4 GUID, fixed once: both sides must compute the same). */
const DECLINE_DEPLOYMENT_NAMESPACE = Buffer.from('5f0d7a4e2b9c4c1e8a3d6e1f0b7c2a94', 'hex');

/**
 * The deployment GUID standing for "update U is declined", as a name-based (version 5) GUID of
 * the update id. GetDeployments has no element for an update that is no longer declined
 * (HiddenUpdates only adds): openwsus reports a reinstated update by listing this GUID among the
 * DeadDeployments, which its replicas recognise by computing it for the declines they hold. A
 * replica that does not know it (WSUS) looks it up among its deployments, finds nothing and
 * ignores it (MS-WSUSSS 3.2.4.3 step 4), so the extension is harmless there.
 */
export function declineDeploymentId(updateId: string): string {
  const hash = createHash('sha1').update(DECLINE_DEPLOYMENT_NAMESPACE).update(updateId.toLowerCase()).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * `Action` of ServerSyncDeployment, taken as WSUS's UpdateApprovalAction (Install 0, Uninstall 1,
 * PreDeploymentCheck/Scan 2, Block 3): the spec does not list the values (UNCONFIRMED).
 */
export const DEPLOYMENT_ACTION_CODES: Readonly<Record<ApprovalAction, number>> = {
  Install: 0,
  Uninstall: 1,
  PreDeploymentCheck: 2,
  Block: 3,
};

/** `Deadline` when an approval has none: .NET's DateTime.MaxValue, what the WSUS API uses. */
export const NO_DEADLINE = '9999-12-31T23:59:59.9999999';

/** `ParentGroupId` of the root group (All Computers): the element is required, so the zero GUID. */
export const NO_PARENT_GROUP = '00000000-0000-0000-0000-000000000000';

export interface ChangedApproval {
  readonly approval: Approval;
  /** Position of the approval's last change. */
  readonly changeSeq: number;
  /** Position of the approved revision's last change; undefined when the revision is not stored. */
  readonly revisionChangeSeq?: number | undefined;
}

export interface DeploymentSelection {
  readonly send: readonly Approval[];
  /** Position the returned anchor names. */
  readonly anchorPosition: number;
}

/**
 * The approvals to send. `syncPosition` is the caller's sync anchor: an approval of a revision
 * changed after it names metadata the replica may not hold yet, so it is held back, and the
 * anchor returned stops before it so the next call sends it (never skipped, possibly repeated).
 * Approvals of revisions this server does not hold are left out.
 */
export function selectDeployments(changed: readonly ChangedApproval[], syncPosition: number | undefined, current: number): DeploymentSelection {
  const send: Approval[] = [];
  let anchorPosition = current;
  for (const c of changed) {
    const revisionSeq = c.revisionChangeSeq;
    // An approval of a revision this server does not hold is of no use to anybody.
    if (revisionSeq === undefined) continue;
    if (syncPosition !== undefined && revisionSeq > syncPosition) anchorPosition = Math.min(anchorPosition, c.changeSeq - 1);
    else send.push(c.approval);
  }
  return { send, anchorPosition: Math.max(0, anchorPosition) };
}
