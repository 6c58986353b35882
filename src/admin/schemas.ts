// What the administration API accepts and answers, as zod schemas: requests are validated with
// them (unknown fields refused, pages capped) and the OpenAPI document (openapi.ts) is generated
// from them, so the two cannot drift apart.
import { z } from 'zod';
import { MAINTENANCE_RESPONSES } from './maintenance-schemas.ts';

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** The largest page any list answers: a client asking for more is refused, not truncated silently. */
export const MAX_PAGE_SIZE = 500;

export const Guid = z.string().regex(GUID, 'a GUID such as 0fa1201d-4330-4fa8-8ae9-b877473b6441').transform((s) => s.toLowerCase());
const Limit = z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50);
const Offset = z.coerce.number().int().min(0).max(10_000_000).default(0);
const QueryBool = z.enum(['true', 'false']).transform((v) => v === 'true');
/** Free text in filters: stored and compared verbatim, never interpreted. */
const FilterText = z.string().max(200);
const Iso = z.iso.datetime({ offset: true });

export const AccountName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, 'letters, digits, ".", "_", "@" and "-", starting with a letter or digit');
export const Role = z.enum(['Administrators', 'Reporters']);
export const Password = z.string().min(8, 'at least 8 characters').max(1024);

// ---- path parameters --------------------------------------------------------------------------

export const KeyParams = z.strictObject({ key: z.string().min(1).max(128) });
export const UpdateParams = z.strictObject({ updateId: Guid });
export const GroupParams = z.strictObject({ groupId: Guid });
export const ComputerParams = z.strictObject({ computerId: z.string().min(1).max(256) });
export const ServerParams = z.strictObject({ serverId: Guid });
export const RunParams = z.strictObject({ runId: z.coerce.number().int().min(1) });
export const TaskParams = z.strictObject({ taskId: z.coerce.number().int().min(1) });
export const AccountParams = z.strictObject({ name: AccountName });
export const TokenParams = z.strictObject({ tokenId: z.coerce.number().int().min(1) });
export const RuleParams = z.strictObject({ ruleId: z.coerce.number().int().min(1) });

// ---- query strings ----------------------------------------------------------------------------

export const PageQuery = z.strictObject({ limit: Limit, offset: Offset });
export const UpdateListQuery = z.strictObject({
  limit: Limit,
  offset: Offset,
  /** Classification title or id. */
  classification: FilterText.optional(),
  /** Product category id (a product family takes its products). */
  product: Guid.optional(),
  approval: z.enum(['any', 'approved', 'unapproved']).default('any'),
  declined: QueryBool.optional(),
  /** Computers' status: updates some computer needs, failed on some computer, installed on all that report it, no status yet. */
  status: z.enum(['any', 'needed', 'failed', 'installed', 'no-status']).default('any'),
  /** Part of the title, or a KB number. */
  text: FilterText.optional(),
  kb: z
    .string()
    .regex(/^(?:[Kk][Bb])?\d{1,10}$/, 'a KB number such as KB5070001')
    .optional(),
});
export const ComputerListQuery = z.strictObject({ limit: Limit, offset: Offset, group: Guid.optional(), text: FilterText.optional() });
export const RunListQuery = z.strictObject({ limit: Limit, before: z.coerce.number().int().min(1).optional() });
export const TaskListQuery = z.strictObject({ all: QueryBool.optional(), limit: Limit });
export const AuditQuery = z.strictObject({ limit: Limit, before: z.coerce.number().int().min(1).optional(), actor: FilterText.optional(), action: FilterText.optional() });
export const ReportQuery = z.strictObject({ limit: Limit, offset: Offset, format: z.enum(['json', 'csv']).default('json') });
export const ReportAllQuery = z.strictObject({ format: z.enum(['json', 'csv']).default('json') });
export const NoQuery = z.strictObject({});

// ---- request bodies ---------------------------------------------------------------------------

export const LoginBody = z.strictObject({ name: z.string().min(1).max(64), password: z.string().min(1).max(1024) });
export const PasswordChangeBody = z.strictObject({ currentPassword: z.string().min(1).max(1024), newPassword: Password });
/** One setting's new value, in its JSON form (see GET /settings for each key's kind). A secret is its clear text. */
export const SettingValueBody = z.strictObject({ value: z.unknown() });
/** Several settings at once, all or nothing: `{ "upstream.server": "wsus1", "upstream.port": 8530 }`. */
export const SettingsPatchBody = z.record(z.string().min(1).max(128), z.unknown());
export const SelectionBody = z.strictObject({ products: z.array(Guid).max(10_000).optional(), classifications: z.array(Guid).max(1000).optional() });
const UpdateIds = z.array(Guid).min(1).max(MAX_PAGE_SIZE);
export const ApproveBody = z.strictObject({
  updateIds: UpdateIds,
  groupId: Guid,
  action: z.enum(['Install', 'Uninstall', 'PreDeploymentCheck']),
  deadline: Iso.optional(),
});
export const UnapproveBody = z.strictObject({ updateIds: UpdateIds, groupId: Guid });
export const DeclineBody = z.strictObject({ updateIds: UpdateIds });
export const GroupCreateBody = z.strictObject({ name: z.string().trim().min(1).max(256), parentId: Guid.optional() });
export const ComputerMoveBody = z.strictObject({ groupId: Guid });
export const AccountCreateBody = z.strictObject({ name: AccountName, role: Role, password: Password });
export const AccountChangeBody = z.strictObject({ role: Role.optional(), password: Password.optional(), disabled: z.boolean().optional() });
export const TokenCreateBody = z.strictObject({
  name: z.string().trim().min(1).max(128),
  /** The account the token acts as (default: the caller). */
  account: AccountName.optional(),
  expiresAt: Iso.optional(),
});
export const SyncStartBody = z.strictObject({}).optional();
/** An automatic approval rule (domain/approval-automation.ts): empty lists mean any classification or product. */
export const RuleCreateBody = z.strictObject({
  name: z.string().trim().min(1).max(256),
  enabled: z.boolean().default(true),
  classificationIds: z.array(Guid).max(1000).default([]),
  productIds: z.array(Guid).max(10_000).default([]),
  groupIds: z.array(Guid).min(1).max(1000),
  action: z.literal('Install').default('Install'),
  deadline: z.strictObject({ days: z.number().int().min(0).max(365), time: z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'HH:MM (UTC)') }).optional(),
});
export const RuleChangeBody = z.strictObject({ enabled: z.boolean() });

// ---- responses (documentation; handlers build these shapes) -----------------------------------

const Nullable = <T extends z.ZodType>(t: T) => t.nullable();

export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  /** 400: which fields are wrong and why. */
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

export const Session = z.object({
  account: z.string(),
  role: Role,
  /** How this request authenticated. */
  via: z.enum(['session', 'token']),
  /** Send as the X-CSRF-Token header with every POST/PUT/PATCH/DELETE made with the session cookie. */
  csrfToken: z.string().optional(),
  expiresAt: Nullable(z.string()),
});

export const ServerInfo = z.object({
  version: z.string(),
  serverId: z.string(),
  database: z.string(),
  replica: z.boolean(),
  upstream: z.string().nullable(),
});

export const Setting = z.object({
  key: z.string(),
  kind: z.string(),
  description: z.string(),
  allowed: z.string(),
  choices: z.array(z.string()).optional(),
  /** Secrets show "********" when set, null otherwise: never their value. */
  value: z.unknown(),
  default: z.unknown(),
  isDefault: z.boolean(),
  secret: z.boolean(),
  /** On a replica these come from the upstream and are refused locally. */
  replicaOwned: z.boolean(),
});
export const SettingList = z.object({ settings: z.array(Setting), problems: z.array(z.object({ key: z.string(), reason: z.string() })) });

const CategoryItem = z.object({ id: z.string(), title: z.string(), type: z.string(), selected: z.boolean(), inherited: z.boolean(), children: z.array(z.unknown()) });
export const CategoryTree = z.object({
  /** Companies > product families > products, each with `selected` (chosen itself) and `inherited` (a parent is chosen). */
  products: z.array(CategoryItem),
  classifications: z.array(z.object({ id: z.string(), title: z.string(), selected: z.boolean() })),
  selection: z.object({ products: z.array(z.string()), classifications: z.array(z.string()) }),
});
export const LanguageList = z.object({
  selection: z.unknown(),
  languages: z.array(z.object({ shortName: z.string(), longName: z.string(), enabled: z.boolean(), selected: z.boolean() })),
});
export const Schedule = z.object({ mode: z.string(), firstSyncTime: z.string(), syncsPerDay: z.number(), nextSyncAt: Nullable(z.string()) });

const Counts = z.object({ newRevisions: z.number(), revisedRevisions: z.number(), expiredRevisions: z.number(), categories: z.number(), files: z.number() });
export const SyncRun = z.object({
  id: z.number(),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  phase: z.string(),
  counts: Counts,
  result: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
  error: z.string().optional(),
});
export const SyncProgress = z.object({ phase: z.string(), done: z.number(), total: z.number(), counts: Counts });
export const SyncStatus = z.object({
  running: z.boolean(),
  /** The run in progress, or the last one. */
  run: Nullable(SyncRun),
  progress: Nullable(SyncProgress),
  nextSyncAt: Nullable(z.string()),
});
export const SyncRunPage = z.object({ runs: z.array(SyncRun) });

const ApprovalItem = z.object({ groupId: z.string(), group: z.string(), action: z.string(), deadline: Nullable(z.string()), admin: z.string(), approvedAt: z.string(), revisionNumber: z.number() });
export const UpdateSummary = z.object({
  updateId: z.string(),
  revisionNumber: z.number(),
  title: z.string(),
  kb: Nullable(z.string()),
  updateType: z.string(),
  classifications: z.array(z.string()),
  severity: Nullable(z.string()),
  released: Nullable(z.string()),
  declined: z.boolean(),
  approvals: z.array(ApprovalItem),
});
export const UpdatePage = z.object({ total: z.number(), offset: z.number(), limit: z.number(), updates: z.array(UpdateSummary) });
export const UpdateDetails = UpdateSummary.extend({
  description: Nullable(z.string()),
  publicationState: z.string(),
  revisions: z.array(z.object({ revisionNumber: z.number(), revisionId: z.number(), isLatest: z.boolean() })),
  files: z.array(z.object({ sha1: z.string(), name: z.string(), size: z.number(), state: z.string(), url: Nullable(z.string()) })),
  supersedes: z.array(z.object({ updateId: z.string(), title: Nullable(z.string()) })),
  supersededBy: z.array(z.object({ updateId: z.string(), title: z.string() })),
  products: z.array(z.string()),
  status: z.record(z.string(), z.number()),
  /** Computers across the hierarchy: this server's own and every one rolled up from servers below. */
  hierarchyStatus: z.object({
    installed: z.number(),
    needed: z.number(),
    failed: z.number(),
    notApplicable: z.number(),
    thisServer: z.record(z.string(), z.number()),
    downstream: z.record(z.string(), z.number()),
  }),
});
export const StatusCounts = z.object({ installed: z.number(), needed: z.number(), failed: z.number(), notApplicable: z.number(), unknown: z.number() });
export const UpdateStatus = z.object({
  updateId: z.string(),
  counts: StatusCounts,
  computers: z.array(z.object({ computerId: z.string(), name: z.string(), status: z.string(), detail: Nullable(z.string()), changedAt: Nullable(z.string()) })),
});
export const BulkResult = z.object({
  /** One entry per update asked for, in order. */
  results: z.array(z.object({ updateId: z.string(), outcome: z.enum(['changed', 'unchanged']), title: z.string() })),
});

export const Group = z.object({
  id: z.string(),
  name: z.string(),
  parentId: Nullable(z.string()),
  builtin: z.boolean(),
  computers: z.number(),
  computersInTree: z.number(),
});
export const GroupList = z.object({ groups: z.array(Group) });
export const Computer = z.object({
  id: z.string(),
  name: z.string(),
  ipAddress: Nullable(z.string()),
  os: Nullable(z.string()),
  groups: z.array(z.object({ id: z.string(), name: z.string() })),
  lastSyncAt: Nullable(z.string()),
  lastReportAt: Nullable(z.string()),
  updates: z.object({ installed: z.number(), needed: z.number(), failed: z.number() }),
});
export const ComputerPage = z.object({ total: z.number(), offset: z.number(), limit: z.number(), computers: z.array(Computer) });
export const ComputerDetails = Computer.extend({
  info: z.record(z.string(), z.unknown()),
  statuses: z.array(z.object({ updateId: z.string(), title: Nullable(z.string()), status: z.string() })),
  events: z.array(z.record(z.string(), z.unknown())),
});
export const DownstreamServer = z.object({
  id: z.string(),
  accountName: z.string(),
  registeredAt: Nullable(z.string()),
  lastSyncAt: Nullable(z.string()),
  lastRollupAt: Nullable(z.string()),
  version: Nullable(z.string()),
  replica: Nullable(z.boolean()),
  details: z.record(z.string(), z.unknown()),
});
export const DownstreamList = z.object({
  /** Servers that synchronize from this one. */
  servers: z.array(DownstreamServer),
  /** Every server below this one, however deep, as rolled up (what `openwsus downstream list` shows). */
  hierarchy: z.array(z.record(z.string(), z.unknown())),
});
export const RolledUpComputerPage = z.object({ total: z.number(), offset: z.number(), limit: z.number(), computers: z.array(z.record(z.string(), z.unknown())) });
/** The new rollup reset id: every downstream server sends everything in full at its next rollup. */
export const RollupReset = z.object({ rollupResetId: z.string() });
export const Rule = z.object({
  id: z.number(),
  name: z.string(),
  enabled: z.boolean(),
  classificationIds: z.array(z.string()),
  productIds: z.array(z.string()),
  groupIds: z.array(z.string()),
  action: z.string(),
  deadline: z.object({ days: z.number(), time: z.string() }).optional(),
  builtin: z.boolean(),
});
export const RuleList = z.object({ rules: z.array(Rule) });
export const RuleRunResult = z.object({ approved: z.number(), declined: z.number() });

export const Overview = z.object({
  server: ServerInfo,
  sync: SyncStatus,
  counts: z.object({ updates: z.number(), approved: z.number(), declined: z.number(), computers: z.number(), groups: z.number(), downstreamServers: z.number() }),
  status: StatusCounts,
  warnings: z.number(),
});
export const SummaryRow = z.object({ id: z.string(), name: z.string() }).extend(StatusCounts.shape);
export const ReportPage = z.object({ total: z.number(), offset: z.number(), limit: z.number(), rows: z.array(SummaryRow) });
export const ReportList = z.object({ rows: z.array(SummaryRow) });

export const Task = z.object({
  id: z.number(),
  kind: z.string(),
  subject: Nullable(z.string()),
  message: z.string(),
  createdAt: z.string(),
  lastSeenAt: z.string(),
  occurrences: z.number(),
  resolvedAt: Nullable(z.string()),
});
export const TaskList = z.object({ tasks: z.array(Task) });
export const Warning = z.object({ kind: z.string(), message: z.string(), subject: Nullable(z.string()) });
export const WarningList = z.object({ warnings: z.array(Warning) });

export const Account = z.object({ name: z.string(), role: Role, disabled: z.boolean(), createdAt: z.string(), lastLoginAt: Nullable(z.string()) });
export const AccountList = z.object({ accounts: z.array(Account) });
export const ApiToken = z.object({
  id: z.number(),
  name: z.string(),
  account: z.string(),
  /** The first characters, to tell tokens apart; the token itself is shown once, at creation. */
  prefix: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  expiresAt: Nullable(z.string()),
  lastUsedAt: Nullable(z.string()),
  revokedAt: Nullable(z.string()),
});
export const ApiTokenList = z.object({ tokens: z.array(ApiToken) });
export const CreatedToken = ApiToken.extend({ token: z.string() });
export const AuditEvent = z.object({
  id: z.number(),
  at: z.string(),
  actor: z.string(),
  via: z.string(),
  action: z.string(),
  target: Nullable(z.string()),
  detail: z.unknown(),
});
export const AuditPage = z.object({ events: z.array(AuditEvent) });

/** Response schemas by the name the document gives them (components/schemas). */
export const RESPONSE_SCHEMAS = {
  Problem,
  Session,
  ServerInfo,
  SettingList,
  Setting,
  CategoryTree,
  LanguageList,
  Schedule,
  SyncRun,
  SyncProgress,
  SyncStatus,
  SyncRunPage,
  UpdatePage,
  UpdateDetails,
  UpdateStatus,
  BulkResult,
  Group,
  GroupList,
  Computer,
  ComputerPage,
  ComputerDetails,
  DownstreamServer,
  DownstreamList,
  RolledUpComputerPage,
  RollupReset,
  RuleList,
  Rule,
  RuleRunResult,
  Overview,
  ReportPage,
  ReportList,
  Task,
  TaskList,
  WarningList,
  Account,
  AccountList,
  ApiToken,
  ApiTokenList,
  CreatedToken,
  AuditPage,
  ...MAINTENANCE_RESPONSES,
} as const;

export type ResponseName = keyof typeof RESPONSE_SCHEMAS;
