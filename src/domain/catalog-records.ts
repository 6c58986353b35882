// What the catalog store hands back: revisions as stored (with their server-local id and change
// position), files with their download state, languages, statistics. Pure types.
import type {
  CategoryType,
  Fragments,
  PublicationState,
  RevisionKey,
  UpdateFile,
  UpdateType,
} from './update.ts';

/** Download state of one content file: absent -> queued -> present | failed. */
export type FileState = 'absent' | 'queued' | 'present' | 'failed';

export const FILE_STATES: readonly FileState[] = ['absent', 'queued', 'present', 'failed'];

export interface StoredFile extends UpdateFile {
  /** Where upstream (Microsoft Update or an upstream server) serves it, when known. */
  readonly muUrl?: string;
  readonly state: FileState;
  readonly attempts: number;
  readonly error?: string;
}

/** The columns every revision row carries, without its documents. */
export interface RevisionSummary {
  /** Server-local id that clients see; assigned once per key, never reused. */
  readonly revisionId: number;
  readonly key: RevisionKey;
  readonly updateType: UpdateType;
  readonly publicationState: PublicationState;
  /** Highest revision number stored for this update. */
  readonly isLatest: boolean;
  readonly explicitlyDeployable: boolean;
  readonly categoryType?: CategoryType;
  /** Title in `en`, else in the first language of the document. */
  readonly title: string;
  readonly kbArticleId?: string;
  readonly msrcSeverity?: string;
  readonly creationDate?: string;
  /** Position in the change sequence of the revision's last change. */
  readonly changeSeq: number;
  /** ISO-8601 UTC time the current document was stored. */
  readonly receivedAt: string;
}

export interface StoredLocalized {
  readonly language: string;
  readonly title: string;
  readonly description?: string;
  /** The LocalizedProperties fragment for this language (WSUS-PROTOCOLS §4.5). */
  readonly fragment: string;
}

export interface StoredRevision extends RevisionSummary {
  /** The update document, verbatim. */
  readonly xml: string;
  readonly fragments: Fragments;
  readonly localized: readonly StoredLocalized[];
}

/** One change of the change sequence. `kind` names the entity table (`revision`, later `approval`...). */
export interface ChangeEntry {
  readonly seq: number;
  readonly kind: string;
  readonly entityId: number;
}

export interface Language {
  /** The WSUS LanguageID (GetConfigData). */
  readonly id: number;
  /** `en`, `pt-br`, as update documents spell it. */
  readonly shortName: string;
  readonly longName: string;
  readonly enabled: boolean;
}

export interface CategoryNode {
  readonly updateId: string;
  readonly revisionId: number;
  readonly categoryType?: CategoryType;
  readonly title: string;
  /** Parents named by `AtLeastOne IsCategory="true"` prerequisites of the latest revision. */
  readonly parentIds: readonly string[];
}

export interface CatalogStats {
  /** Latest revisions per update type. */
  readonly revisionsByType: Readonly<Partial<Record<UpdateType, number>>>;
  /** Latest category revisions per category type (`none` for untyped roots). */
  readonly categories: { readonly byType: Readonly<Record<string, number>> };
  readonly files: Readonly<Record<FileState, number>>;
  readonly languages: readonly Language[];
  /** All stored revisions, latest or not. */
  readonly revisions: number;
  readonly latestRevisions: number;
  /** Latest revisions whose publication state is Expired. */
  readonly expired: number;
}

/** What one `upsertRevisions` batch did. */
export interface UpsertSummary {
  readonly inserted: number;
  readonly replaced: number;
  readonly unchanged: number;
  /** Revision id of every item, in the order given. */
  readonly revisionIds: readonly number[];
  /** Change sequence after the batch (unchanged when nothing changed). */
  readonly changeSeq: number;
}
