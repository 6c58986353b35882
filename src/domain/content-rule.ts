// Which update files a downstream server keeps locally (WSUS-PROTOCOLS §2.10, MS-WSUSSS 3.2.4.4):
// nothing when it stores no content (catalog-only: clients take files from Microsoft Update);
// with deferred downloads only files of updates approved for Install, since the spec's DSS
// downloads "if an Install deployment exists" (a detect-only approval needs no file); otherwise
// every file of the synchronized updates. Declined and expired updates need no files either way.
// Express installation files (PSF) only when asked for, and language-specific files only in a
// selected language. A file a downstream named in DownloadFiles is wanted whatever the rest says.
import { resolveDownstreamSettings, selectedLanguages, settingDefinition } from './settings.ts';
import { contentPath, type UpdateFile } from './update.ts';

export interface ContentPolicy {
  /** `content.storeLocally`: false = catalog-only. */
  readonly storeLocally: boolean;
  /** `content.deferredDownloads`. */
  readonly deferredDownloads: boolean;
  /** `content.expressFiles`. */
  readonly expressFiles: boolean;
  /** Selected languages (selectedLanguages in settings.ts); undefined = all. */
  readonly languages?: readonly string[];
}

/** One file of one update revision, with what the catalog and the approvals say of the update. */
export interface ContentCandidate {
  readonly file: Pick<UpdateFile, 'fileName' | 'patchingType'>;
  /** An Install approval exists for the update (for any group), or for a bundle that holds it. */
  readonly approvedForInstall: boolean;
  readonly declined: boolean;
  readonly expired: boolean;
  /**
   * Languages the metadata marks the file for; undefined or empty: language-neutral. The update
   * documents seen so far (captures and generator) carry no per-file language, so the store
   * passes none today and this filter only acts once metadata says so.
   */
  readonly languages?: readonly string[];
  /** A downstream server asked for it with DownloadFiles. */
  readonly requested?: boolean;
}

/**
 * Express installation files: the PSF payloads Windows 10+ cumulative updates ship beside their
 * CAB (`*.psf`), and the older express packages the metadata marks `PatchingType="Express"`.
 */
export function isExpressFile(file: Pick<UpdateFile, 'fileName' | 'patchingType'>): boolean {
  return /\.psf$/i.test(file.fileName) || file.patchingType?.toLowerCase() === 'express';
}

export function wantsContent(policy: ContentPolicy, candidate: ContentCandidate): boolean {
  if (!policy.storeLocally) return false;
  if (candidate.requested === true) return true;
  if (candidate.declined || candidate.expired) return false;
  if (policy.deferredDownloads && !candidate.approvedForInstall) return false;
  if (!policy.expressFiles && isExpressFile(candidate.file)) return false;
  const marked = candidate.languages;
  if (policy.languages !== undefined && marked !== undefined && marked.length > 0) {
    const selected = new Set(policy.languages.map((l) => l.toLowerCase()));
    if (!marked.some((l) => selected.has(l.toLowerCase()))) return false;
  }
  return true;
}

/**
 * Where to download a file from. From an upstream server: its `/Content/XX/SHA1.ext` (the WSUS
 * layout, WSUS-PROTOCOLS §2.10) at the address this server reaches it by, which is what a real
 * WSUS serves too although its fileUrls leave UssUrl empty; unless the upstream is catalog-only
 * (CatalogOnlySync), when files come from the URL it gave (Microsoft Update's). From Microsoft
 * Update: the MUUrl of GetUpdateData.
 */
export function contentSourceUrl(
  file: Pick<UpdateFile, 'sha1' | 'fileName'> & { readonly muUrl?: string },
  upstream: { readonly origin?: string; readonly catalogOnly: boolean },
): string | undefined {
  if (upstream.origin !== undefined && !upstream.catalogOnly) return `${upstream.origin.replace(/\/+$/, '')}/Content/${contentPath(file)}`;
  return file.muUrl;
}

/** Wait before the next try after `attempts` failed ones: doubling from `baseMs`, capped. */
export function retryDelayMs(attempts: number, baseMs: number, capMs = 6 * 3_600_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
}

/** Where a file is in the download queue: queued -> downloading -> present | failed (retried). */
export type ContentJobState = 'queued' | 'downloading' | 'present' | 'failed';

export const CONTENT_JOB_STATES: readonly ContentJobState[] = ['queued', 'downloading', 'present', 'failed'];

export interface ContentJob {
  readonly sha1: string;
  readonly state: ContentJobState;
  /** Named by a downstream's DownloadFiles: kept even when no approval wants it. */
  readonly requested: boolean;
  /** Failed tries so far. */
  readonly attempts: number;
  readonly lastError?: string;
  /** ISO-8601 UTC: not tried again before. */
  readonly nextAttemptAt: string;
  /** `host:pid:instance` of the worker downloading it. */
  readonly owner?: string;
  readonly leaseUntil?: string;
}

/** How the download queue runs, from the `content.*` settings. */
export interface ContentWorkerSettings {
  readonly concurrency: number;
  readonly checkIntervalMs: number;
  readonly retryDelayMs: number;
}

/** The content policy and the queue's pace from stored settings (a bad stored value: its default). */
export function resolveContentSettings(stored: Readonly<Record<string, unknown>>, locale: string): { policy: ContentPolicy; worker: ContentWorkerSettings } {
  const { settings } = resolveDownstreamSettings(stored);
  const int = (key: string): number => {
    const d = settingDefinition(key);
    const parsed = d.schema.safeParse(stored[key]);
    return (stored[key] !== undefined && parsed.success ? parsed.data : d.default) as number;
  };
  const languages = selectedLanguages(settings.languages, locale);
  return {
    policy: { ...settings.content, ...(languages !== undefined && { languages }) },
    worker: {
      concurrency: int('content.downloadConcurrency'),
      checkIntervalMs: int('content.checkIntervalSeconds') * 1000,
      retryDelayMs: int('content.retryDelaySeconds') * 1000,
    },
  };
}
