// Automatic approval rules (WSUS "Options > Automatic Approvals"), pure: which approvals and
// declines a synchronization or a "Run Rule" brings, given the rules, the options and the updates.
//
// As WSUS does it (Microsoft, "Approving Updates Automatically", WSUS operations guide):
// - a rule names classifications and/or products; an update matches when it is in one of the
//   classifications (if the rule names any) and in one of the products (if the rule names any); a
//   product family or company named in a rule takes every product under it, present and future;
// - a matching update is approved for install for the rule's groups, with an optional deadline
//   "N days after the approval at HH:MM";
// - rules act on updates new to the server, when a synchronization brings them; "Run Rule" applies
//   a rule to the updates held now, on demand;
// - two server-wide options: approve new revisions of updates already approved (the new revision
//   takes the approvals of the old), and decline updates a new revision expires.
// Choices where WSUS is silent: only explicitly deployable software and driver updates are
// approved (bundle children come with their bundle); when several rules approve one update for one
// group, the earliest deadline wins (an approval with a deadline beats one without, as in the
// conflict rules of approval-rules.ts); "Run Rule" leaves an update alone for a group that already
// has an approval of it (an administrator's choice is not overwritten).
import type { Approval, Decline } from './deployment.ts';
import type { UpdateRecord } from './update.ts';
import { ALL_COMPUTERS_GROUP_ID, CLASSIFICATIONS } from './wellknown.ts';

/** What an automatic rule approves for; WSUS rules only approve for install. */
export type RuleAction = 'Install';

export interface RuleDeadline {
  /** Days after the approval, 0-365. */
  readonly days: number;
  /** UTC time of day, HH:MM. */
  readonly time: string;
}

export interface ApprovalRule {
  readonly id: number;
  readonly name: string;
  readonly enabled: boolean;
  /** Classification update ids, lower-case; empty = any classification. */
  readonly classificationIds: readonly string[];
  /** Product (or family, company) update ids, lower-case; empty = any product. */
  readonly productIds: readonly string[];
  readonly groupIds: readonly string[];
  readonly action: RuleAction;
  readonly deadline?: RuleDeadline;
  /** The Default Automatic Approval Rule every WSUS has. */
  readonly builtin: boolean;
}

export interface AutomationOptions {
  /** "Automatically approve new revisions of updates that are already approved". */
  readonly approveNewRevisions: boolean;
  /** "Automatically decline updates when a new revision causes them to expire". */
  readonly declineExpired: boolean;
}

/** Settings keys of the two server-wide options (domain/settings.ts registers them). */
export const APPROVAL_AUTOMATION_SETTING_KEYS = {
  approveNewRevisions: 'approvals.approveNewRevisions',
  declineExpired: 'approvals.declineExpired',
} as const;

/** Both options are on in a new WSUS. */
export const DEFAULT_AUTOMATION_OPTIONS: AutomationOptions = { approveNewRevisions: true, declineExpired: true };

export const DEFAULT_RULE_NAME = 'Default Automatic Approval Rule';

/** The rule a new WSUS has: Critical and Security updates to All Computers, disabled. */
export const DEFAULT_RULE: Omit<ApprovalRule, 'id'> = {
  name: DEFAULT_RULE_NAME,
  enabled: false,
  classificationIds: [CLASSIFICATIONS.criticalUpdates, CLASSIFICATIONS.securityUpdates],
  productIds: [],
  groupIds: [ALL_COMPUTERS_GROUP_ID],
  action: 'Install',
  builtin: true,
};

/** Who WSUS names as the approver of an automatic approval. */
export const AUTOMATIC_APPROVER = 'WUS Server';

/** An update as the rules see it: its newest revision and every category it names. */
export interface RuleCandidate {
  readonly updateId: string;
  readonly revisionNumber: number;
  readonly updateType: string;
  readonly publicationState: string;
  readonly explicitlyDeployable: boolean;
  /** Ids of `IsCategory` prerequisites: its classification(s) and product(s), lower-case. */
  readonly categoryIds: readonly string[];
}

/** A revision a synchronization stored, with what it was to this server. */
export interface SynchronizedRevision extends RuleCandidate {
  readonly change: 'new' | 'revised' | 'expired';
}

/** What the rules see of a parsed revision. */
export function ruleCandidate(record: UpdateRecord): RuleCandidate {
  return {
    updateId: record.key.updateId,
    revisionNumber: record.key.revisionNumber,
    updateType: record.properties.updateType,
    publicationState: record.properties.publicationState,
    explicitlyDeployable: record.properties.explicitlyDeployable,
    categoryIds: [...new Set(record.prerequisites.filter((p) => p.isCategory).flatMap((p) => p.updateIds.map((id) => id.toLowerCase())))],
  };
}

/** A category and its parents, for expanding products (CategoryNode fits). */
export interface CategoryParents {
  readonly updateId: string;
  readonly parentIds: readonly string[];
}

/** Why a rule cannot be stored, or undefined when it can. */
export function ruleProblem(rule: Omit<ApprovalRule, 'id'>): string | undefined {
  if (rule.name.trim() === '' || rule.name.length > 256) return 'a rule name must be 1 to 256 characters';
  if (rule.classificationIds.length === 0 && rule.productIds.length === 0) return 'a rule needs classifications, products or both';
  if (rule.groupIds.length === 0) return 'a rule needs at least one computer group';
  if (rule.deadline !== undefined) {
    const { days, time } = rule.deadline;
    if (!Number.isInteger(days) || days < 0 || days > 365) return 'a deadline is 0 to 365 days after the approval';
    if (!/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(time)) return 'a deadline time is HH:MM (00:00-23:59, UTC)';
  }
  return undefined;
}

/** The rule's products and every category under them: what "parent takes children" means. */
export function expandRuleProducts(productIds: readonly string[], categories: readonly CategoryParents[]): Set<string> {
  const children = new Map<string, string[]>();
  for (const c of categories) {
    for (const parent of c.parentIds) {
      const key = parent.toLowerCase();
      children.set(key, [...(children.get(key) ?? []), c.updateId.toLowerCase()]);
    }
  }
  const out = new Set<string>();
  const stack = productIds.map((p) => p.toLowerCase());
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (out.has(id)) continue;
    out.add(id);
    stack.push(...(children.get(id) ?? []));
  }
  return out;
}

/** Software and driver updates an administrator could approve by hand, not expired. */
export function approvable(update: RuleCandidate): boolean {
  return (update.updateType === 'Software' || update.updateType === 'Driver') && update.explicitlyDeployable && update.publicationState !== 'Expired';
}

/** A rule ready to match: its products expanded once per batch. */
export interface CompiledRule {
  readonly rule: ApprovalRule;
  readonly classifications: ReadonlySet<string>;
  readonly products: ReadonlySet<string>;
}

export function compileRule(rule: ApprovalRule, categories: readonly CategoryParents[]): CompiledRule {
  return {
    rule,
    classifications: new Set(rule.classificationIds.map((c) => c.toLowerCase())),
    products: rule.productIds.length === 0 ? new Set() : expandRuleProducts(rule.productIds, categories),
  };
}

export function ruleMatches(compiled: CompiledRule, update: RuleCandidate): boolean {
  if (!approvable(update)) return false;
  const ids = update.categoryIds.map((c) => c.toLowerCase());
  if (compiled.rule.classificationIds.length > 0 && !ids.some((c) => compiled.classifications.has(c))) return false;
  if (compiled.rule.productIds.length > 0 && !ids.some((c) => compiled.products.has(c))) return false;
  return true;
}

/** "N days after the approval at HH:MM", UTC. */
export function ruleDeadline(deadline: RuleDeadline | undefined, approvedAt: Date): string | undefined {
  if (deadline === undefined) return undefined;
  const [hours, minutes] = deadline.time.split(':').map(Number) as [number, number];
  const at = new Date(Date.UTC(approvedAt.getUTCFullYear(), approvedAt.getUTCMonth(), approvedAt.getUTCDate() + deadline.days, hours, minutes));
  return at.toISOString();
}

function earlier(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined) return false;
  return b === undefined || Date.parse(a) < Date.parse(b);
}

export interface RulePlanInput {
  readonly rules: readonly CompiledRule[];
  readonly updates: readonly RuleCandidate[];
  /** Update id -> groups that already have an approval of it: left alone. */
  readonly approvedGroups?: ReadonlyMap<string, ReadonlySet<string>>;
  readonly declined?: ReadonlySet<string>;
  readonly now: Date;
  readonly newId: () => string;
}

/** Install approvals the rules give `updates` (enabled rules only; the caller picks which rules). */
export function planRuleApprovals(input: RulePlanInput): Approval[] {
  const out = new Map<string, Approval>();
  const createdAt = input.now.toISOString();
  for (const update of input.updates) {
    if (input.declined?.has(update.updateId)) continue;
    const taken = input.approvedGroups?.get(update.updateId);
    for (const compiled of input.rules) {
      if (!ruleMatches(compiled, update)) continue;
      const deadline = ruleDeadline(compiled.rule.deadline, input.now);
      for (const groupId of compiled.rule.groupIds) {
        if (taken?.has(groupId)) continue;
        const key = `${update.updateId}\u0000${groupId}`;
        const seen = out.get(key);
        if (seen !== undefined && !earlier(deadline, seen.deadline)) continue;
        out.set(key, {
          id: seen?.id ?? input.newId(),
          updateId: update.updateId,
          revisionNumber: update.revisionNumber,
          groupId,
          action: compiled.rule.action,
          ...(deadline !== undefined ? { deadline } : {}),
          adminName: AUTOMATIC_APPROVER,
          createdAt,
        });
      }
    }
  }
  return [...out.values()];
}

export interface SyncAutomationInput {
  /** Every rule; disabled ones are skipped here. */
  readonly rules: readonly CompiledRule[];
  readonly options: AutomationOptions;
  readonly revisions: readonly SynchronizedRevision[];
  /** Approvals held now of the revised updates (any group). */
  readonly approvalsOf: ReadonlyMap<string, readonly Approval[]>;
  readonly declined: ReadonlySet<string>;
  readonly now: Date;
  readonly newId: () => string;
}

export interface AutomationPlan {
  readonly approvals: readonly Approval[];
  readonly declines: readonly Decline[];
}

/**
 * What one stored batch of a synchronization brings: rule approvals of the new updates, the
 * approvals carried to new revisions of approved updates, declines of updates a revision expired.
 */
export function planSyncAutomation(input: SyncAutomationInput): AutomationPlan {
  const { options, now } = input;
  const createdAt = now.toISOString();
  const fresh = input.revisions.filter((r) => r.change === 'new');
  const approvals: Approval[] = planRuleApprovals({
    rules: input.rules.filter((r) => r.rule.enabled),
    updates: fresh,
    declined: input.declined,
    now,
    newId: input.newId,
  });
  const declines: Decline[] = [];
  for (const r of input.revisions) {
    if (input.declined.has(r.updateId)) continue;
    if (r.change === 'expired') {
      if (options.declineExpired) declines.push({ updateId: r.updateId, adminName: AUTOMATIC_APPROVER, declinedAt: createdAt });
      continue;
    }
    if (r.change !== 'revised' || !options.approveNewRevisions) continue;
    for (const a of input.approvalsOf.get(r.updateId) ?? []) {
      if (a.revisionNumber >= r.revisionNumber) continue;
      approvals.push({ ...a, id: input.newId(), revisionNumber: r.revisionNumber, adminName: AUTOMATIC_APPROVER, createdAt });
    }
  }
  return { approvals, declines };
}
