// Settings an administrator changes at run time (`openwsus config`), as the store keeps them:
// one JSON value per key. This module owns what each key accepts, how a command-line value is
// read, the defaults (those of a fresh WSUS: Microsoft Update, every Windows product, critical
// and security updates) and the rules derived from them (where the upstream is, which products
// a selection expands to, when the next automatic synchronization is due). Pure: sealing the
// proxy password needs randomness and a key, so sync/ does it and hands the sealed text here.
import { APPROVAL_AUTOMATION_SETTING_KEYS } from './approval-automation.ts';
import { CLIENT_SETTING_KEYS } from './computer.ts';
import { ROLLUP_SETTING_KEYS } from './rollup.ts';
import { CLEANUP_SETTING_KEYS, DEFAULT_CLEANUP_POLICY, DEFAULT_CLEANUP_TIME } from './cleanup-rules.ts';
import { z } from 'zod';
import type { CategoryNode } from './catalog-records.ts';
import { DEFAULT_UPSTREAM_CONFIG, UPSTREAM_SETTING_KEYS } from './upstream-config.ts';
import { CLASSIFICATIONS, WINDOWS_PRODUCT_FAMILY_ID } from './wellknown.ts';

export class SettingError extends Error {
  override name = 'SettingError';
  readonly key: string;
  constructor(key: string, message: string) {
    super(message);
    this.key = key;
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Lower case, braces dropped: ids compare as text everywhere else. */
export function normalizeGuid(text: string): string {
  return text.trim().toLowerCase().replace(/^\{(.*)\}$/, '$1');
}

const guidList = z.array(z.string().transform(normalizeGuid).pipe(z.string().regex(GUID, 'not a GUID')));
const hostName = z
  .string()
  .trim()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9._:[\]-]+$/, 'a host name or IP address');
const port = z.number().int().min(1).max(65535);
// Absolute (POSIX, drive letter or UNC): a relative path would depend on where a command runs.
const absolutePath = z
  .string()
  .trim()
  .min(1)
  .max(4096)
  .regex(/^(\/|[A-Za-z]:[\\/]|\\\\)/, 'an absolute path');
const LANGUAGE_CODE = /^[a-z]{2,3}(-[a-z0-9]{2,8})*$/;

/** A secret as the store keeps it: sealed by sync/secrets.ts, never the clear text. */
export const SealedSecret = z.object({ sealed: z.string().min(1) });
export type SealedSecret = z.infer<typeof SealedSecret>;

export type ValueKind = 'boolean' | 'integer' | 'text' | 'choice' | 'guids' | 'time' | 'languages' | 'secret' | 'texts';

export interface SettingDefinition {
  readonly key: string;
  readonly kind: ValueKind;
  readonly description: string;
  /** Validates a stored (JSON) value. */
  readonly schema: z.ZodType;
  /** Absent: the setting has no value until set. */
  readonly default?: unknown;
  readonly choices?: readonly string[];
  /** What `config set` accepts, for error messages. */
  readonly allowed: string;
}

function def(key: string, kind: ValueKind, schema: z.ZodType, description: string, allowed: string, extra: { default?: unknown; choices?: readonly string[] } = {}): SettingDefinition {
  return { key, kind, schema, description, allowed, ...extra };
}

const BOOL = 'true or false';

export const LANGUAGES_ALL = 'all';
/** The language of this server's locale (as WSUS offers "the server's language" at setup). */
export const LANGUAGES_LOCALE = 'locale';

/** The name this server reports upstream (sync/server-name.ts); unset: the host name. */
export const SERVER_NAME_SETTING = 'server.name';

export const SETTING_DEFINITIONS: readonly SettingDefinition[] = [
  def('upstream.source', 'choice', z.enum(['microsoft-update', 'server']), 'where this server synchronizes from', 'microsoft-update or server', {
    default: 'microsoft-update',
    choices: ['microsoft-update', 'server'],
  }),
  def('upstream.server', 'text', hostName, 'upstream server name or address (upstream.source = server)', 'a host name or IP address'),
  def('upstream.port', 'integer', port, 'upstream server port (default 8530, or 8531 with upstream.ssl)', 'a port number 1-65535'),
  def('upstream.ssl', 'boolean', z.boolean(), 'use HTTPS to reach the upstream server', BOOL, { default: false }),
  // An upstream with a certificate from a private CA: trusted in addition to the system's CAs.
  def('upstream.caFile', 'text', absolutePath, 'PEM file of the CA that issued the upstream server\'s certificate (with upstream.ssl), trusted besides the system\'s', 'an absolute path to a PEM file'),
  def('upstream.replica', 'boolean', z.boolean(), 'replica mode: take approvals and groups from the upstream server', BOOL, { default: false }),
  def('proxy.enabled', 'boolean', z.boolean(), 'reach the upstream through a proxy server', BOOL, { default: false }),
  def('proxy.host', 'text', hostName, 'proxy server name or address', 'a host name or IP address'),
  def('proxy.port', 'integer', port, 'proxy server port', 'a port number 1-65535', { default: 80 }),
  def('proxy.user', 'text', z.string().min(1).max(256), 'proxy user name', 'a user name'),
  def('proxy.domain', 'text', z.string().min(1).max(256), 'proxy user domain', 'a domain name'),
  def('proxy.password', 'secret', SealedSecret, 'proxy password (kept encrypted, never shown)', 'a password'),
  def('proxy.allowBasicAuth', 'boolean', z.boolean(), 'allow sending the proxy credentials in clear text (Basic)', BOOL, { default: false }),
  def('products', 'guids', guidList.min(1), 'product (or product family) category ids to synchronize; a parent takes all its children, present and future', 'a comma-separated list of category GUIDs', {
    default: [WINDOWS_PRODUCT_FAMILY_ID],
  }),
  def('classifications', 'guids', guidList.min(1), 'classification ids to synchronize', 'a comma-separated list of classification GUIDs', {
    default: [CLASSIFICATIONS.criticalUpdates, CLASSIFICATIONS.securityUpdates],
  }),
  def(
    'languages',
    'languages',
    z.union([z.enum([LANGUAGES_ALL, LANGUAGES_LOCALE]), z.array(z.string().regex(LANGUAGE_CODE, 'a language code such as en or pt-br')).min(1)]),
    'languages to keep: all, locale (this server\'s), or a list such as en,de,fr',
    'all, locale, or a comma-separated list of language codes (en,de,pt-br)',
    { default: LANGUAGES_ALL },
  ),
  def('schedule.mode', 'choice', z.enum(['manual', 'automatic']), 'synchronize by hand or on a schedule', 'manual or automatic', {
    default: 'manual',
    choices: ['manual', 'automatic'],
  }),
  def('schedule.firstSyncTime', 'time', z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'HH:MM'), 'first automatic synchronization of the day (UTC, HH:MM)', 'a time HH:MM (00:00-23:59)', {
    default: '03:00',
  }),
  def('schedule.syncsPerDay', 'integer', z.number().int().min(1).max(24), 'automatic synchronizations per day', 'a whole number 1-24', { default: 1 }),
  def('content.deferredDownloads', 'boolean', z.boolean(), 'download files only for approved updates', BOOL, { default: true }),
  def('content.expressFiles', 'boolean', z.boolean(), 'download express installation files', BOOL, { default: false }),
  def('content.storeLocally', 'boolean', z.boolean(), 'keep update files on this server (false: clients use Microsoft Update)', BOOL, { default: true }),
  // The download queue (sync/content-downloader.ts): files at once, how often the running server
  // looks for newly wanted files (approvals made elsewhere), first wait after a failed download.
  def('content.downloadConcurrency', 'integer', z.number().int().min(1).max(32), 'files downloaded at once', 'a whole number 1-32', { default: 4 }),
  def('content.checkIntervalSeconds', 'integer', z.number().int().min(1).max(86_400), 'how often the server checks for files to download, seconds', 'a whole number 1-86400', { default: 60 }),
  def('content.retryDelaySeconds', 'integer', z.number().int().min(1).max(86_400), 'wait before retrying a failed download, seconds (doubled each time)', 'a whole number 1-86400', { default: 300 }),
  // How clients find their groups (domain/computer.ts): server-side or client-side targeting.
  def(CLIENT_SETTING_KEYS.targetingMode, 'choice', z.enum(['server', 'client']), 'who assigns computers to groups: admins (server) or the clients\' policy (client)', 'server or client', {
    default: 'server',
    choices: ['server', 'client'],
  }),
  def(CLIENT_SETTING_KEYS.createMissingGroups, 'boolean', z.boolean(), 'with client-side targeting, create groups that clients name and that do not exist', BOOL, { default: false }),
  // The two options of WSUS "Automatic Approvals" (domain/approval-automation.ts; rules: openwsus rules).
  def(APPROVAL_AUTOMATION_SETTING_KEYS.approveNewRevisions, 'boolean', z.boolean(), 'a new revision of an approved update takes its approvals', BOOL, { default: true }),
  def(APPROVAL_AUTOMATION_SETTING_KEYS.declineExpired, 'boolean', z.boolean(), 'decline an update when a new revision expires it', BOOL, { default: true }),
  // The upstream role's own settings (domain/upstream-config.ts), settable the same way.
  def(UPSTREAM_SETTING_KEYS.catalogOnlySync, 'boolean', z.boolean(), 'downstream servers take metadata only', BOOL, { default: DEFAULT_UPSTREAM_CONFIG.catalogOnlySync }),
  def(UPSTREAM_SETTING_KEYS.lazySync, 'boolean', z.boolean(), 'downstream servers download a file only when needed', BOOL, { default: DEFAULT_UPSTREAM_CONFIG.lazySync }),
  def(UPSTREAM_SETTING_KEYS.serverHostsPsfFiles, 'boolean', z.boolean(), 'this server hosts express (PSF) files for downstream servers', BOOL, {
    default: DEFAULT_UPSTREAM_CONFIG.serverHostsPsfFiles,
  }),
  def(UPSTREAM_SETTING_KEYS.cookieLifetimeMinutes, 'integer', z.number().int().min(1), 'lifetime of a downstream server\'s cookie, minutes', 'a whole number >= 1', {
    default: DEFAULT_UPSTREAM_CONFIG.cookieLifetimeMinutes,
  }),
  def(UPSTREAM_SETTING_KEYS.maxDownstreamServers, 'integer', z.number().int().min(0), 'how many downstream servers may synchronize from this one', 'a whole number >= 0', {
    default: DEFAULT_UPSTREAM_CONFIG.maxDownstreamServers,
  }),
  def(UPSTREAM_SETTING_KEYS.allowedDownstreamServers, 'guids', guidList, 'only these downstream server ids may synchronize (unset: any)', 'a comma-separated list of server GUIDs'),
  def(ROLLUP_SETTING_KEYS.detailed, 'boolean', z.boolean(), 'collect computers and update status from downstream servers (DoDetailedRollup; false: server summaries only)', BOOL, { default: true }),
  def(ROLLUP_SETTING_KEYS.intervalMinutes, 'integer', z.number().int().min(0).max(10080), 'minutes between rollups to the upstream server while serving (0: only after each synchronization)', 'a whole number 0-10080', { default: 240 }),
  def(ROLLUP_SETTING_KEYS.statusBatchSize, 'integer', z.number().int().min(1).max(5000), 'most computers a downstream server may send per RollupComputerStatus call', 'a whole number 1-5000', { default: 500 }),
  def(SERVER_NAME_SETTING, 'text', z.string().trim().min(1).max(255).regex(/^[^\p{Cc}]+$/u, 'no control characters'), 'the name this server reports to its upstream server (default: the host name)', 'a name of 1-255 characters'),
  // Maintenance (domain/cleanup-rules.ts): a daily cleanup in `openwsus serve`.
  def(CLEANUP_SETTING_KEYS.enabled, 'boolean', z.boolean(), 'run the cleanup every day in openwsus serve', BOOL, { default: true }),
  def(CLEANUP_SETTING_KEYS.time, 'time', z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'HH:MM'), 'time of the daily cleanup (UTC, HH:MM)', 'a time HH:MM (00:00-23:59)', { default: DEFAULT_CLEANUP_TIME }),
  def(CLEANUP_SETTING_KEYS.computerDays, 'integer', z.number().int().min(1), 'delete computers not heard from for this many days', 'a whole number of days >= 1', { default: DEFAULT_CLEANUP_POLICY.computerDays }),
  def(CLEANUP_SETTING_KEYS.supersededDays, 'integer', z.number().int().min(1), 'decline superseded updates on the server at least this many days', 'a whole number of days >= 1', { default: DEFAULT_CLEANUP_POLICY.supersededDays }),
  def(CLEANUP_SETTING_KEYS.revisionDays, 'integer', z.number().int().min(1), 'delete old revisions once the newest is this many days old', 'a whole number of days >= 1', { default: DEFAULT_CLEANUP_POLICY.revisionDays }),
  def(CLEANUP_SETTING_KEYS.eventDays, 'integer', z.number().int().min(1), 'keep client events this many days', 'a whole number of days >= 1', { default: DEFAULT_CLEANUP_POLICY.eventDays }),
];

const BY_KEY = new Map(SETTING_DEFINITIONS.map((d) => [d.key, d]));

export function settingDefinition(key: string): SettingDefinition {
  const found = BY_KEY.get(key);
  if (found === undefined) {
    throw new SettingError(key, `unknown setting "${key}"; known settings: ${SETTING_DEFINITIONS.map((d) => d.key).join(', ')}`);
  }
  return found;
}

function issueText(error: z.ZodError): string {
  return error.issues.map((i) => i.message).join('; ');
}

/** A stored (JSON) value checked against its key; throws SettingError saying what is allowed. */
export function validateSettingValue(key: string, value: unknown): unknown {
  const d = settingDefinition(key);
  const parsed = d.schema.safeParse(value);
  if (!parsed.success) throw new SettingError(key, `${key}: ${JSON.stringify(value)} is not allowed (${issueText(parsed.error)}); expected ${d.allowed}`);
  return parsed.data;
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * A value typed on the command line, read as its key expects (booleans, numbers, comma lists)
 * and validated. A secret's clear text comes back as a string for the caller to seal.
 */
export function parseSettingText(key: string, text: string): unknown {
  const d = settingDefinition(key);
  const t = text.trim();
  const fail = (): never => {
    throw new SettingError(key, `${key}: "${text}" is not allowed; expected ${d.allowed}`);
  };
  switch (d.kind) {
    case 'boolean': {
      const v = t.toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(v)) return true;
      if (['false', 'no', 'off', '0'].includes(v)) return false;
      return fail();
    }
    case 'integer': {
      if (!/^[0-9]+$/.test(t)) return fail();
      return validateSettingValue(key, Number(t));
    }
    case 'guids':
      return validateSettingValue(key, list(t));
    case 'languages': {
      const v = t.toLowerCase();
      if (v === LANGUAGES_ALL || v === LANGUAGES_LOCALE) return v;
      return validateSettingValue(key, [...new Set(list(v))]);
    }
    case 'choice':
      return validateSettingValue(key, t.toLowerCase());
    case 'secret':
      if (text === '') return fail();
      return text;
    case 'texts':
      return validateSettingValue(key, list(t));
    default:
      return validateSettingValue(key, t);
  }
}

/** How `config get` shows a value: secrets masked whatever they hold. */
export function displaySettingValue(key: string, value: unknown): unknown {
  if (value === undefined) return undefined;
  return settingDefinition(key).kind === 'secret' ? '********' : value;
}

// ---- the downstream configuration ------------------------------------------------------------

export const MICROSOFT_UPDATE_ORIGIN = 'https://sws.update.microsoft.com';

export type LanguageSelection = { readonly kind: 'all' } | { readonly kind: 'locale' } | { readonly kind: 'list'; readonly languages: readonly string[] };

export interface DownstreamSettings {
  readonly source: 'microsoft-update' | 'server';
  readonly server?: string;
  readonly port?: number;
  readonly ssl: boolean;
  /** PEM file of a CA to trust for the upstream's certificate. */
  readonly caFile?: string;
  readonly replica: boolean;
  readonly proxy: {
    readonly enabled: boolean;
    readonly host?: string;
    readonly port: number;
    readonly user?: string;
    readonly domain?: string;
    readonly password?: SealedSecret;
    readonly allowBasicAuth: boolean;
  };
  readonly products: readonly string[];
  readonly classifications: readonly string[];
  readonly languages: LanguageSelection;
  readonly schedule: { readonly mode: 'manual' | 'automatic'; readonly firstSyncTime: string; readonly syncsPerDay: number };
  readonly content: { readonly deferredDownloads: boolean; readonly expressFiles: boolean; readonly storeLocally: boolean };
}

export interface SettingProblem {
  readonly key: string;
  readonly reason: string;
}

/**
 * The downstream configuration from stored settings. A stored value that no longer validates
 * (edited by hand, written by an older version) is reported and its default used.
 */
export function resolveDownstreamSettings(stored: Readonly<Record<string, unknown>>): { settings: DownstreamSettings; problems: SettingProblem[] } {
  const problems: SettingProblem[] = [];
  const get = <T>(key: string): T | undefined => {
    const d = settingDefinition(key);
    const raw = stored[key];
    if (raw === undefined) return d.default as T | undefined;
    const parsed = d.schema.safeParse(raw);
    if (parsed.success) return parsed.data as T;
    problems.push({ key, reason: `${issueText(parsed.error)}; expected ${d.allowed}` });
    return d.default as T | undefined;
  };
  const languages = get<string | string[]>('languages')!;
  const opt = <K extends string, T>(name: K, value: T | undefined): { [P in K]?: T } => (value === undefined ? {} : ({ [name]: value } as { [P in K]?: T }));
  const settings: DownstreamSettings = {
    source: get('upstream.source')!,
    ...opt('server', get<string>('upstream.server')),
    ...opt('port', get<number>('upstream.port')),
    ssl: get('upstream.ssl')!,
    ...opt('caFile', get<string>('upstream.caFile')),
    replica: get('upstream.replica')!,
    proxy: {
      enabled: get('proxy.enabled')!,
      ...opt('host', get<string>('proxy.host')),
      port: get('proxy.port')!,
      ...opt('user', get<string>('proxy.user')),
      ...opt('domain', get<string>('proxy.domain')),
      ...opt('password', get<SealedSecret>('proxy.password')),
      allowBasicAuth: get('proxy.allowBasicAuth')!,
    },
    products: get('products')!,
    classifications: get('classifications')!,
    languages: Array.isArray(languages) ? { kind: 'list', languages } : languages === LANGUAGES_LOCALE ? { kind: 'locale' } : { kind: 'all' },
    schedule: { mode: get('schedule.mode')!, firstSyncTime: get('schedule.firstSyncTime')!, syncsPerDay: get('schedule.syncsPerDay')! },
    content: {
      deferredDownloads: get('content.deferredDownloads')!,
      expressFiles: get('content.expressFiles')!,
      storeLocally: get('content.storeLocally')!,
    },
  };
  return { settings, problems };
}

/**
 * The origin (`scheme://host:port`) of the upstream's web services, or a SettingError naming
 * the setting to fix. Microsoft Update is reached over HTTPS on its standard port.
 */
export function upstreamOrigin(settings: DownstreamSettings): string {
  if (settings.source === 'microsoft-update') return MICROSOFT_UPDATE_ORIGIN;
  if (settings.server === undefined) throw new SettingError('upstream.server', 'upstream.source is "server" but upstream.server is not set (openwsus config set upstream.server NAME)');
  const scheme = settings.ssl ? 'https' : 'http';
  const p = settings.port ?? (settings.ssl ? 8531 : 8530);
  const host = settings.server.includes(':') && !settings.server.startsWith('[') ? `[${settings.server}]` : settings.server;
  return `${scheme}://${host}:${p}`;
}

/** The language short names to keep, or undefined for all of them. */
export function selectedLanguages(selection: LanguageSelection, locale: string): string[] | undefined {
  if (selection.kind === 'all') return undefined;
  if (selection.kind === 'list') return [...selection.languages];
  const tag = locale.toLowerCase().replace('_', '-');
  // WSUS names most languages by their primary tag and a few (pt-br, zh-tw, zh-cn) with a region.
  return [...new Set([tag.split('-')[0]!, tag])];
}

/**
 * The Product categories a selection stands for, among the categories the upstream has now: a
 * selected product, and every product below a selected product or family, however deep. Done
 * at every synchronization, so a product the upstream adds later under a selected family is
 * taken from then on. Upstreams match updates against the products listed, not their parents
 * (WSUS-PROTOCOLS §2.5), hence the expansion.
 */
export function expandProducts(categories: readonly CategoryNode[], selected: readonly string[]): string[] {
  const children = new Map<string, string[]>();
  for (const c of categories) {
    for (const parent of c.parentIds) {
      const key = parent.toLowerCase();
      const list = children.get(key) ?? [];
      list.push(c.updateId.toLowerCase());
      children.set(key, list);
    }
  }
  const types = new Map(categories.map((c) => [c.updateId.toLowerCase(), c.categoryType]));
  const out = new Set<string>();
  const seen = new Set<string>();
  const stack = selected.map(normalizeGuid);
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    if (types.get(id) === 'Product') out.add(id);
    for (const child of children.get(id) ?? []) stack.push(child);
  }
  return [...out].sort();
}

/** The selected classifications the upstream has. */
export function knownClassifications(categories: readonly CategoryNode[], selected: readonly string[]): string[] {
  const known = new Set(categories.filter((c) => c.categoryType === 'UpdateClassification').map((c) => c.updateId.toLowerCase()));
  return [...new Set(selected.map(normalizeGuid))].filter((id) => known.has(id)).sort();
}

/**
 * The next automatic synchronization strictly after `now`: `syncsPerDay` times a day, evenly
 * spaced from `firstSyncTime` (UTC), as WSUS schedules them. Undefined in manual mode. The
 * offset of up to 30 minutes each slot runs at is domain/sync-schedule.ts's.
 */
export function nextScheduledSync(schedule: DownstreamSettings['schedule'], now: Date): Date | undefined {
  if (schedule.mode !== 'automatic') return undefined;
  const [h, m] = schedule.firstSyncTime.split(':').map(Number) as [number, number];
  const intervalMs = Math.floor((24 * 60) / schedule.syncsPerDay) * 60_000;
  const dayStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  // Yesterday's slots too: with several syncs a day, the last ones of the previous day run past midnight.
  for (let day = -1; day <= 1; day++) {
    const first = dayStart + day * 86_400_000 + (h * 60 + m) * 60_000;
    for (let i = 0; i < schedule.syncsPerDay; i++) {
      const at = first + i * intervalMs;
      if (at > now.getTime()) return new Date(at);
    }
  }
  return undefined;
}
