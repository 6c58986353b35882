// How this server behaves as an upstream (USS): the settings an administrator may change, with the
// defaults a Windows Server 2025 WSUS showed in the captures (WSUS-PROTOCOLS §2.4).
import type { Language } from './catalog-records.ts';
import { ALL_LANGUAGES_ID } from './languages.ts';

export const UPSTREAM_SETTING_KEYS = {
  catalogOnlySync: 'upstream.catalogOnlySync',
  lazySync: 'upstream.lazySync',
  serverHostsPsfFiles: 'upstream.serverHostsPsfFiles',
  cookieLifetimeMinutes: 'upstream.cookieLifetimeMinutes',
  maxDownstreamServers: 'upstream.maxDownstreamServers',
  allowedDownstreamServers: 'upstream.allowedDownstreamServers',
} as const;

export interface UpstreamConfig {
  /** Downstream servers take metadata only and download files from Microsoft Update. */
  readonly catalogOnlySync: boolean;
  /** Downstream servers download a file only when something needs it. */
  readonly lazySync: boolean;
  readonly serverHostsPsfFiles: boolean;
  /** Lifetime of a GetCookie cookie (Windows: 240 minutes). */
  readonly cookieLifetimeMinutes: number;
  readonly maxDownstreamServers: number;
  /** Lower-case server ids; undefined = every server may synchronize. */
  readonly allowedDownstreamServers?: readonly string[];
}

export const DEFAULT_UPSTREAM_CONFIG: UpstreamConfig = Object.freeze({
  catalogOnlySync: false,
  lazySync: true,
  serverHostsPsfFiles: false,
  cookieLifetimeMinutes: 240,
  maxDownstreamServers: 1000,
});

/** Limits GetConfigData announces. Drivers are not served to downstream servers (limits 0, as WSUS). */
export const UPSTREAM_LIMITS = Object.freeze({
  maxNumberOfUpdatesPerRequest: 100,
  maxNumberOfDriverSetsPerRequest: 0,
  maxNumberOfComputerIdsInRequest: 0,
  maxNumberOfPnpHardwareIdsInRequest: 0,
  maxUpdatesPerRequestInGetUpdateDecryptionData: 100,
  maxDigestsPerDownloadFiles: 100,
});

/** The protocol version this server speaks as an upstream (what WSUS 10 says). */
export const UPSTREAM_PROTOCOL_VERSION = '1.20';

export interface ConfigProblem {
  readonly key: string;
  readonly reason: string;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The configuration from stored settings (key -> JSON value). A value of the wrong kind is
 * reported and its default used: a typo in a setting must not stop synchronization.
 */
export function resolveUpstreamConfig(settings: Readonly<Record<string, unknown>>): { config: UpstreamConfig; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const K = UPSTREAM_SETTING_KEYS;
  const D = DEFAULT_UPSTREAM_CONFIG;
  const bool = (key: string, fallback: boolean): boolean => {
    const v = settings[key];
    if (v === undefined) return fallback;
    if (typeof v === 'boolean') return v;
    problems.push({ key, reason: 'expected true or false' });
    return fallback;
  };
  const int = (key: string, fallback: number, min: number): number => {
    const v = settings[key];
    if (v === undefined) return fallback;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= min) return v;
    problems.push({ key, reason: `expected a whole number ≥ ${min}` });
    return fallback;
  };
  let allowed: string[] | undefined;
  const rawAllowed = settings[K.allowedDownstreamServers];
  if (rawAllowed !== undefined && rawAllowed !== null) {
    if (Array.isArray(rawAllowed) && rawAllowed.every((v) => typeof v === 'string' && GUID.test(v.trim().toLowerCase().replace(/^\{(.*)\}$/, '$1')))) {
      allowed = rawAllowed.map((v: string) => v.trim().toLowerCase().replace(/^\{(.*)\}$/, '$1'));
    } else {
      problems.push({ key: K.allowedDownstreamServers, reason: 'expected a list of server GUIDs' });
      // Fail closed: an unreadable allow-list admits nobody rather than everybody.
      allowed = [];
    }
  }
  const config: UpstreamConfig = {
    catalogOnlySync: bool(K.catalogOnlySync, D.catalogOnlySync),
    lazySync: bool(K.lazySync, D.lazySync),
    serverHostsPsfFiles: bool(K.serverHostsPsfFiles, D.serverHostsPsfFiles),
    cookieLifetimeMinutes: int(K.cookieLifetimeMinutes, D.cookieLifetimeMinutes, 1),
    maxDownstreamServers: int(K.maxDownstreamServers, D.maxDownstreamServers, 0),
    ...(allowed !== undefined && { allowedDownstreamServers: allowed }),
  };
  return { config, problems };
}

/** GetConfigData's language list: the `all` pseudo-entry (LanguageID 0), then the languages by id. */
export function languageUpdateList(languages: readonly Language[]): Language[] {
  const sorted = [...languages].filter((l) => l.id !== ALL_LANGUAGES_ID).sort((a, b) => a.id - b.id);
  const all: Language = { id: ALL_LANGUAGES_ID, shortName: 'all', longName: 'all', enabled: sorted.length > 0 && sorted.every((l) => l.enabled) };
  return [all, ...sorted];
}

/**
 * A fingerprint of what GetConfigData tells a downstream server, so a change of it can take a
 * position in the change sequence (the downstream's config anchor then falls behind it).
 */
export function configFingerprint(config: UpstreamConfig, languages: readonly Language[]): string {
  const parts = [
    config.catalogOnlySync,
    config.lazySync,
    config.serverHostsPsfFiles,
    ...[...languages].sort((a, b) => a.id - b.id).map((l) => `${l.id}:${l.shortName}:${l.longName}:${l.enabled}`),
  ];
  return parts.join('|');
}

/**
 * GetUpdateData sends a document as plain XmlUpdateBlob up to this many bytes of UTF-16 text and
 * as an XmlUpdateBlobCompressed cabinet past it, as Windows does (WSUS-PROTOCOLS §2.6).
 */
export const UPDATE_BLOB_PLAIN_MAX_BYTES = 5120;

export function sendsCompressedBlob(xml: string): boolean {
  // A JS string's length counts UTF-16 code units: its UTF-16 size is twice that, surrogates included.
  return xml.length * 2 > UPDATE_BLOB_PLAIN_MAX_BYTES;
}
