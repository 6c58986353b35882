// Deterministic sample catalog shaped like Microsoft Update: for the demo, tests and benchmarks.
export { generateCatalog, DEFAULT_FILE_SIZE, type Catalog, type CatalogOptions } from './generator.ts';
export { generateCatalogChanges, type CatalogChanges, type ChangesOptions } from './changes.ts';
export { STATIC_DOCUMENTS, type CatalogPlan, type LinePlan } from './plan.ts';
export { filePayload, payloadChunks, type CatalogFile } from './payload.ts';
export { summarizeCatalog, type CatalogSummary } from './summary.ts';
export { writePayloads, type WriteResult } from './write.ts';
export { CATEGORY, DETECTOID, CATALOG_END } from './taxonomy.ts';
export type { CatalogDocument, ChangeKind, DocumentRole, FileSizeRange } from './units.ts';
