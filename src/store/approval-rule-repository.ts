// Automatic approval rules (migration 0007) and their application: to the revisions a
// synchronization stores, in the transaction that stores them, and to the updates held now
// ("Run Rule"). The approvals and declines they make go through writeApprovals/writeDeclines, so
// each takes a change position as an administrator's would.
import { randomUUID } from 'node:crypto';
import type { ColumnType, Generated, Kysely } from 'kysely';
import {
  APPROVAL_AUTOMATION_SETTING_KEYS,
  compileRule,
  DEFAULT_AUTOMATION_OPTIONS,
  planRuleApprovals,
  planSyncAutomation,
  ruleProblem,
  type ApprovalRule,
  type AutomationOptions,
  type RuleCandidate,
  type SynchronizedRevision,
} from '../domain/approval-automation.ts';
import type { Approval } from '../domain/deployment.ts';
import { refuseOnReplica } from '../domain/replica-guard.ts';
import { resolveDownstreamSettings } from '../domain/settings.ts';
import { CatalogRepository } from './catalog-repository.ts';
import { writeApprovals, writeDeclines } from './deployment-repository.ts';
import type { Database } from './schema.ts';
import { SettingRepository } from './setting-repository.ts';
import { atomically, inList, isLatest, nowIso, type Db, type StoreContext } from './sql-util.ts';

/** Written as a boolean, read as 0/1 on SQLite (schema.ts). */
type Bool = ColumnType<boolean | number, boolean, boolean>;

interface ApprovalRuleTable {
  rule_id: Generated<number>;
  name: string;
  enabled: Bool;
  action: string;
  classification_ids: string;
  product_ids: string;
  deadline_days: number | null;
  deadline_time: string | null;
  builtin: Bool;
  created_at: string;
}

interface ApprovalRuleGroupTable {
  rule_id: number;
  group_id: string;
}

type RuleDb = Kysely<Database & { approval_rule: ApprovalRuleTable; approval_rule_group: ApprovalRuleGroupTable }>;

function ruleDb(db: Db): RuleDb {
  return db.withTables<{ approval_rule: ApprovalRuleTable; approval_rule_group: ApprovalRuleGroupTable }>() as unknown as RuleDb;
}

/** A rule that cannot be stored as asked; the message says what to change. */
export class ApprovalRuleError extends Error {
  override name = 'ApprovalRuleError';
}

/** What applying rules changed. */
export interface AutomationResult {
  readonly approved: number;
  readonly declined: number;
}

const APPROVABLE_TYPES = ['Software', 'Driver'];

export class ApprovalRuleRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  get #db(): RuleDb {
    return ruleDb(this.#ctx.db);
  }

  /** Every rule, in the order they were made (WSUS lists them so). */
  async list(): Promise<ApprovalRule[]> {
    const db = this.#db;
    const [rows, groups] = await Promise.all([
      db.selectFrom('approval_rule').selectAll().orderBy('rule_id').execute(),
      db.selectFrom('approval_rule_group').selectAll().orderBy('group_id').execute(),
    ]);
    const groupsOf = new Map<number, string[]>();
    for (const g of groups) groupsOf.set(Number(g.rule_id), [...(groupsOf.get(Number(g.rule_id)) ?? []), g.group_id]);
    return rows.map((r) => ({
      id: Number(r.rule_id),
      name: r.name,
      enabled: Boolean(r.enabled),
      classificationIds: JSON.parse(r.classification_ids) as string[],
      productIds: JSON.parse(r.product_ids) as string[],
      groupIds: groupsOf.get(Number(r.rule_id)) ?? [],
      action: 'Install',
      ...(r.deadline_days !== null && r.deadline_time !== null ? { deadline: { days: Number(r.deadline_days), time: r.deadline_time } } : {}),
      builtin: Boolean(r.builtin),
    }));
  }

  /** Stores a new rule. Throws ApprovalRuleError for a bad rule or a name in use. */
  async create(rule: Omit<ApprovalRule, 'id' | 'builtin'>): Promise<ApprovalRule> {
    await this.#refuseOnReplica('change automatic approval rules');
    const problem = ruleProblem({ ...rule, builtin: false });
    if (problem !== undefined) throw new ApprovalRuleError(problem);
    return atomically(this.#ctx.db, async (tx) => {
      const db = ruleDb(tx);
      const stored = {
        ...rule,
        name: rule.name.trim(),
        classificationIds: [...new Set(rule.classificationIds.map((c) => c.toLowerCase()))],
        productIds: [...new Set(rule.productIds.map((p) => p.toLowerCase()))],
        groupIds: [...new Set(rule.groupIds)],
      };
      const { name } = stored;
      const clash = await db.selectFrom('approval_rule').select('name').where((eb) => eb(eb.fn('lower', ['name']), '=', name.toLowerCase())).executeTakeFirst();
      if (clash !== undefined) throw new ApprovalRuleError(`a rule named "${clash.name}" already exists: choose another name`);
      const inserted = await db
        .insertInto('approval_rule')
        .values({
          name,
          enabled: rule.enabled,
          action: rule.action,
          classification_ids: JSON.stringify(stored.classificationIds),
          product_ids: JSON.stringify(stored.productIds),
          deadline_days: rule.deadline?.days ?? null,
          deadline_time: rule.deadline?.time ?? null,
          builtin: false,
          created_at: nowIso(),
        })
        .returning('rule_id')
        .executeTakeFirstOrThrow();
      const id = Number(inserted.rule_id);
      await db
        .insertInto('approval_rule_group')
        .values(stored.groupIds.map((group_id) => ({ rule_id: id, group_id })))
        .execute();
      return { ...stored, id, builtin: false };
    });
  }

  /** Deletes a rule; the Default Automatic Approval Rule stays (disable it instead). */
  async delete(id: number): Promise<boolean> {
    await this.#refuseOnReplica('change automatic approval rules');
    const rule = (await this.list()).find((r) => r.id === id);
    if (rule === undefined) return false;
    if (rule.builtin) throw new ApprovalRuleError(`"${rule.name}" is built in and cannot be deleted: disable it instead`);
    await this.#db.deleteFrom('approval_rule').where('rule_id', '=', id).execute();
    return true;
  }

  /** False when there is no such rule. */
  async setEnabled(id: number, enabled: boolean): Promise<boolean> {
    await this.#refuseOnReplica('change automatic approval rules');
    const result = await this.#db.updateTable('approval_rule').set({ enabled }).where('rule_id', '=', id).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** The two server-wide options, from the settings (both on by default, as in WSUS). */
  async options(): Promise<AutomationOptions> {
    const settings = new SettingRepository(this.#ctx);
    const read = async (key: string, fallback: boolean): Promise<boolean> => {
      const v = await settings.get(key);
      return typeof v === 'boolean' ? v : fallback;
    };
    return {
      approveNewRevisions: await read(APPROVAL_AUTOMATION_SETTING_KEYS.approveNewRevisions, DEFAULT_AUTOMATION_OPTIONS.approveNewRevisions),
      declineExpired: await read(APPROVAL_AUTOMATION_SETTING_KEYS.declineExpired, DEFAULT_AUTOMATION_OPTIONS.declineExpired),
    };
  }

  /**
   * Applies the enabled rules and the options to revisions a synchronization is storing. Call it
   * in the transaction that stores them, after they are stored: it then happens exactly once
   * (a run that dies repeats the batch, rules and all). Not on a replica: its approvals come
   * from the upstream.
   */
  async applyToSynchronized(synchronized: readonly SynchronizedRevision[], now = new Date()): Promise<AutomationResult> {
    const revisions = await this.#withoutFirstExpired(synchronized);
    if (revisions.length === 0) return { approved: 0, declined: 0 };
    const rules = (await this.list()).filter((r) => r.enabled && r.groupIds.length > 0);
    const options = await this.options();
    const fresh = revisions.some((r) => r.change === 'new');
    const revised = revisions.filter((r) => r.change === 'revised' && options.approveNewRevisions).map((r) => r.updateId);
    const expired = revisions.some((r) => r.change === 'expired') && options.declineExpired;
    if (!(fresh && rules.length > 0) && revised.length === 0 && !expired) return { approved: 0, declined: 0 };
    const db = this.#ctx.db;
    const ids = [...new Set(revisions.map((r) => r.updateId))];
    const [categories, approvalRows, declineRows] = await Promise.all([
      rules.some((r) => r.productIds.length > 0) ? new CatalogRepository(this.#ctx).categories() : Promise.resolve([]),
      revised.length === 0 ? Promise.resolve([]) : db.selectFrom('approval').selectAll().where(inList(this.#ctx.dialect, 'update_id', revised)).execute(),
      db.selectFrom('decline').select('update_id').where(inList(this.#ctx.dialect, 'update_id', ids)).execute(),
    ]);
    const approvalsOf = new Map<string, Approval[]>();
    for (const r of approvalRows) {
      const a: Approval = {
        id: r.deployment_id,
        updateId: r.update_id,
        revisionNumber: Number(r.revision_number),
        groupId: r.group_id,
        action: r.action as Approval['action'],
        adminName: r.admin_name,
        createdAt: r.created_at,
        ...(r.deadline !== null ? { deadline: r.deadline } : {}),
      };
      approvalsOf.set(a.updateId, [...(approvalsOf.get(a.updateId) ?? []), a]);
    }
    const plan = planSyncAutomation({
      rules: rules.map((r) => compileRule(r, categories)),
      options,
      revisions,
      approvalsOf,
      declined: new Set(declineRows.map((d) => d.update_id)),
      now,
      newId: randomUUID,
    });
    return this.#write(plan.approvals, plan.declines);
  }

  /**
   * An update that arrives expired, never held before, was never offered: the decline option is
   * about revisions that expire what this server had, so those are left out.
   */
  async #withoutFirstExpired(revisions: readonly SynchronizedRevision[]): Promise<readonly SynchronizedRevision[]> {
    const expired = revisions.filter((r) => r.change === 'expired');
    if (expired.length === 0) return revisions;
    const rows = await this.#ctx.db
      .selectFrom('revision')
      .select(['update_id', 'revision_number'])
      .where(inList(this.#ctx.dialect, 'update_id', [...new Set(expired.map((r) => r.updateId))]))
      .execute();
    const heldBefore = new Set(rows.filter((row) => expired.some((r) => r.updateId === row.update_id && Number(row.revision_number) !== r.revisionNumber)).map((row) => row.update_id));
    return revisions.filter((r) => r.change !== 'expired' || heldBefore.has(r.updateId));
  }

  /**
   * "Run Rule": approves the updates held now that the rule matches, for its groups that have no
   * approval of them yet. Runs whether the rule is enabled or not, as WSUS's button does.
   */
  async run(id: number, now = new Date()): Promise<AutomationResult> {
    await this.#refuseOnReplica('run automatic approval rules');
    const rule = (await this.list()).find((r) => r.id === id);
    if (rule === undefined) throw new ApprovalRuleError(`no rule has id ${id}`);
    const [categories, candidates, approvals, declines] = await Promise.all([
      rule.productIds.length > 0 ? new CatalogRepository(this.#ctx).categories() : Promise.resolve([]),
      this.#candidates(),
      this.#ctx.db.selectFrom('approval').select(['update_id', 'group_id']).execute(),
      this.#ctx.db.selectFrom('decline').select('update_id').execute(),
    ]);
    const approvedGroups = new Map<string, Set<string>>();
    for (const a of approvals) {
      let set = approvedGroups.get(a.update_id);
      if (set === undefined) approvedGroups.set(a.update_id, (set = new Set()));
      set.add(a.group_id);
    }
    const planned = planRuleApprovals({
      rules: [compileRule(rule, categories)],
      updates: candidates,
      approvedGroups,
      declined: new Set(declines.map((d) => d.update_id)),
      now,
      newId: randomUUID,
    });
    return this.#write(planned, []);
  }

  /** Newest revision of every approvable update, with its category ids. */
  async #candidates(): Promise<RuleCandidate[]> {
    const db = this.#ctx.db;
    const [rows, categories] = await Promise.all([
      db
        .selectFrom('revision')
        .select(['revision_id', 'update_id', 'revision_number', 'update_type', 'publication_state', 'explicitly_deployable'])
        .where(isLatest())
        .where('update_type', 'in', APPROVABLE_TYPES)
        .orderBy('update_id')
        .execute(),
      db
        .selectFrom('prerequisite as p')
        .innerJoin('revision as r', 'r.revision_id', 'p.revision_id')
        .select(['p.revision_id', 'p.update_id'])
        .where(isLatest('r'))
        .where('r.update_type', 'in', APPROVABLE_TYPES)
        .where('p.is_category', '=', true)
        .execute(),
    ]);
    const categoriesOf = new Map<number, string[]>();
    for (const c of categories) categoriesOf.set(Number(c.revision_id), [...(categoriesOf.get(Number(c.revision_id)) ?? []), c.update_id.toLowerCase()]);
    return rows.map((r) => ({
      updateId: r.update_id,
      revisionNumber: Number(r.revision_number),
      updateType: r.update_type,
      publicationState: r.publication_state,
      explicitlyDeployable: Boolean(r.explicitly_deployable),
      categoryIds: categoriesOf.get(Number(r.revision_id)) ?? [],
    }));
  }

  async #write(approvals: readonly Approval[], declines: Parameters<typeof writeDeclines>[1]): Promise<AutomationResult> {
    if (approvals.length === 0 && declines.length === 0) return { approved: 0, declined: 0 };
    return atomically(this.#ctx.db, async (db) => {
      const ctx = { db, dialect: this.#ctx.dialect };
      // Declines first: an update a revision expires is not approved in the same breath.
      const declined = await writeDeclines(ctx, declines);
      const gone = new Set(declines.map((d) => d.updateId));
      const approved = await writeApprovals(ctx, approvals.filter((a) => !gone.has(a.updateId)));
      return { approved, declined };
    });
  }

  async #refuseOnReplica(what: string): Promise<void> {
    refuseOnReplica(resolveDownstreamSettings(await new SettingRepository(this.#ctx).all()).settings, what);
  }
}
