// Row shapes of the tables, for Kysely's type checking. Only store/ sees these; repositories turn
// them into domain types.
//
// Conventions shared by both backends, so one query text serves both:
// - times are ISO-8601 UTC text (`2026-10-05T12:00:00.000Z`), which sorts chronologically;
// - booleans are `boolean` on PostgreSQL and 0/1 on SQLite: write JS booleans, read with Boolean();
// - documents and fragments are bytes with a codec tag (codec.ts);
// - SHA-1 and SHA-256 digests are base64, exactly as update documents carry them.
import type { ColumnType, Generated } from 'kysely';

export type DialectName = 'sqlite' | 'postgres';

type Bool = ColumnType<boolean | number, boolean, boolean>;
type Bytes = Uint8Array;

export interface RevisionTable {
  revision_id: Generated<number>;
  update_id: string;
  revision_number: number;
  update_type: string;
  publication_state: string;
  is_latest: Bool;
  explicitly_deployable: Bool;
  category_type: string | null;
  title: string;
  kb_article_id: string | null;
  msrc_severity: string | null;
  creation_date: string | null;
  xml: Bytes;
  core: Bytes;
  extended: Bytes;
  /** SHA-1 (base64) over the document and its fragments: an equal hash means nothing to store. */
  content_hash: string;
  change_seq: number;
  received_at: string;
}

export interface LocalizedTable {
  revision_id: number;
  language: string;
  title: string;
  description: string | null;
  fragment: string;
}

export interface PrerequisiteTable {
  revision_id: number;
  clause_index: number;
  /** Position in the clause, document order. */
  member_index: number;
  update_id: string;
  is_category: Bool;
}

export interface BundleMemberTable {
  revision_id: number;
  group_index: number;
  member_index: number;
  at_least_one: Bool;
  child_update_id: string;
  child_revision_number: number;
}

export interface SupersedenceTable {
  revision_id: number;
  superseded_update_id: string;
}

export interface FileTable {
  sha1: string;
  sha256: string | null;
  file_name: string;
  size: number;
  modified: string | null;
  patching_type: string | null;
  mu_url: string | null;
  state: string;
  attempts: number;
  error: string | null;
  updated_at: string;
}

export interface RevisionFileTable {
  revision_id: number;
  sha1: string;
  file_index: number;
}

export interface LanguageTable {
  id: number;
  short_name: string;
  long_name: string;
  enabled: Bool;
}

export interface ChangeCounterTable {
  id: number;
  value: number;
}

export interface ChangeLogTable {
  seq: number;
  kind: string;
  entity_id: number;
}

export interface AnchorTable {
  name: string;
  value: string;
  updated_at: string;
}

export interface SyncRunTable {
  id: Generated<number>;
  started_at: string;
  ended_at: string | null;
  phase: string;
  new_revisions: number;
  revised_revisions: number;
  expired_revisions: number;
  categories: number;
  files: number;
  result: string;
  error: string | null;
}

export interface SettingTable {
  key: string;
  /** JSON text. */
  value: string;
  updated_at: string;
}

export interface ServerIdentityTable {
  id: number;
  server_id: string;
  created_at: string;
}

export interface ComputerGroupTable {
  group_id: string;
  name: string;
  parent_id: string | null;
  builtin: Bool;
  created_at: string;
}

export interface ApprovalTable {
  approval_id: Generated<number>;
  deployment_id: string;
  update_id: string;
  revision_number: number;
  group_id: string;
  action: string;
  deadline: string | null;
  admin_name: string;
  created_at: string;
  change_seq: number;
}

export interface DeclineTable {
  decline_id: Generated<number>;
  update_id: string;
  admin_name: string;
  declined_at: string;
  change_seq: number;
}

export interface Database {
  revision: RevisionTable;
  localized: LocalizedTable;
  prerequisite: PrerequisiteTable;
  bundle_member: BundleMemberTable;
  supersedence: SupersedenceTable;
  file: FileTable;
  revision_file: RevisionFileTable;
  language: LanguageTable;
  change_counter: ChangeCounterTable;
  change_log: ChangeLogTable;
  anchor: AnchorTable;
  sync_run: SyncRunTable;
  setting: SettingTable;
  server_identity: ServerIdentityTable;
  computer_group: ComputerGroupTable;
  approval: ApprovalTable;
  decline: DeclineTable;
}
