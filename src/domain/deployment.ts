// Computer groups and approvals (WSUS "deployments"): which update revision a group gets, and how.
// Pure types; the rules that resolve them for a computer come with the client service.
import { ALL_COMPUTERS_GROUP_ID, UNASSIGNED_COMPUTERS_GROUP_ID } from './wellknown.ts';

/** What an approval tells clients of a group to do (WSUS UpdateApprovalAction). */
export type ApprovalAction = 'Install' | 'Uninstall' | 'PreDeploymentCheck' | 'Block';

export const APPROVAL_ACTIONS: readonly ApprovalAction[] = ['Install', 'Uninstall', 'PreDeploymentCheck', 'Block'];

export interface ComputerGroup {
  readonly id: string;
  readonly name: string;
  /** Every group but All Computers has a parent; top-level groups hang under All Computers. */
  readonly parentId?: string;
  readonly builtin: boolean;
}

export const BUILTIN_GROUPS: readonly ComputerGroup[] = [
  { id: ALL_COMPUTERS_GROUP_ID, name: 'All Computers', builtin: true },
  { id: UNASSIGNED_COMPUTERS_GROUP_ID, name: 'Unassigned Computers', parentId: ALL_COMPUTERS_GROUP_ID, builtin: true },
];

export interface Approval {
  /** The deployment GUID (GetDeployments' DeploymentGuid). */
  readonly id: string;
  readonly updateId: string;
  readonly revisionNumber: number;
  readonly groupId: string;
  readonly action: ApprovalAction;
  /** ISO-8601 UTC; absent = no deadline. */
  readonly deadline?: string;
  readonly adminName: string;
  readonly createdAt: string;
}

/** A declined update leaves every scan; it stays in the catalog until cleaned up. */
export interface Decline {
  readonly updateId: string;
  readonly adminName: string;
  readonly declinedAt: string;
}
