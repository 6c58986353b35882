// Groups, approvals and declines as export records, checked before they reach the store: a record
// a newer or damaged file carries in another shape is refused, never half-imported.
import { z } from 'zod';
import { APPROVAL_ACTIONS, type Approval, type ComputerGroup, type Decline } from '../domain/deployment.ts';
import { canonicalGuid } from '../domain/update.ts';
import { ExportFormatError, type ExportRecord } from './format.ts';

const Guid = z.string().transform((v, ctx) => {
  const g = canonicalGuid(v);
  if (!g) ctx.addIssue({ code: 'custom', message: 'not a GUID' });
  return g ?? v;
});
const Time = z.iso.datetime({ offset: true });

const GroupRecord = z.object({
  type: z.literal('group'),
  id: Guid,
  name: z.string().min(1).max(256),
  parentId: Guid.optional(),
  builtin: z.boolean(),
});

const ApprovalRecord = z.object({
  type: z.literal('approval'),
  id: Guid,
  updateId: Guid,
  revisionNumber: z.number().int().nonnegative(),
  groupId: Guid,
  action: z.enum(APPROVAL_ACTIONS as [string, ...string[]]),
  deadline: Time.optional(),
  adminName: z.string().max(256),
  createdAt: Time,
});

const DeclineRecord = z.object({ type: z.literal('decline'), updateId: Guid, adminName: z.string().max(256), declinedAt: Time });

function parse<T>(schema: z.ZodType<T>, record: ExportRecord): T {
  const result = schema.safeParse(record);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ExportFormatError(`a ${record.type} record is invalid (${issue?.path.join('.') || 'record'}: ${issue?.message}): the file is corrupt`);
  }
  return result.data;
}

export function groupFromRecord(record: ExportRecord): ComputerGroup {
  const { type: _, ...group } = parse(GroupRecord, record);
  return group;
}

export function approvalFromRecord(record: ExportRecord): Approval {
  const { type: _, ...approval } = parse(ApprovalRecord, record);
  return approval as Approval;
}

export function declineFromRecord(record: ExportRecord): Decline {
  const { type: _, ...decline } = parse(DeclineRecord, record);
  return decline;
}
