// What GetDeployments gives a replica downstream server (WSUS-PROTOCOLS §2.8, MS-WSUSSS 3.2.4.3):
// every group (the replica deletes groups missing from the list), the approvals changed since its
// deployment anchor, deployments that died since (replaced or removed approvals), declined updates
// as hidden updates.
import type { Approval, ApprovalAction } from './deployment.ts';

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
