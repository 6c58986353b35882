// The store's public face: open a store, use its repositories. Nothing outside store/ writes SQL.
export { openStore, resolveDatabase, repositories, SQLITE_FILE_NAME } from './store.ts';
export type { OpenStoreOptions, Repositories, Store, StoreTransaction, DatabaseLocation } from './store.ts';
export type { RevisionInput } from './revision-import.ts';
export { REVISION_CHANGE } from './revision-import.ts';
export type { CatalogRepository, RevisionRelationships } from './catalog-repository.ts';
export type { FileRepository } from './file-repository.ts';
export type { AnchorRepository } from './anchor-repository.ts';
export type { SettingRepository } from './setting-repository.ts';
export type { SyncRunRepository, SyncRunChange } from './sync-run-repository.ts';
export type { LanguageRepository } from './language-repository.ts';
export type { ChangeSequence, Change } from './change-sequence.ts';
export type { DialectName } from './schema.ts';
export type { GroupRepository, ApprovalRepository, DeclineRepository } from './deployment-repository.ts';
