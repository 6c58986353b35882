// Counts what a stream of catalog documents holds. Keeps one set of update ids and one of file
// digests (a few MB at 50,000 revisions): summaries are for reports, not for the streaming paths.
import type { CategoryType, PublicationState, UpdateType } from '../domain/update.ts';
import type { CatalogDocument, DocumentRole } from './units.ts';

export interface CatalogSummary {
  readonly documents: number;
  /** Distinct update ids. */
  readonly updates: number;
  readonly byType: Readonly<Partial<Record<UpdateType, number>>>;
  readonly byRole: Readonly<Partial<Record<DocumentRole, number>>>;
  readonly categoriesByType: Readonly<Partial<Record<CategoryType, number>>>;
  readonly byPublicationState: Readonly<Partial<Record<PublicationState, number>>>;
  /** Documents that are not the first revision of their update. */
  readonly laterRevisions: number;
  readonly supersedenceEdges: number;
  readonly languages: readonly string[];
  /** Distinct files (by SHA-1) and their total size; `fileReferences` counts every mention. */
  readonly files: number;
  readonly fileReferences: number;
  readonly totalBytes: number;
}

function bump<K extends string>(into: Partial<Record<K, number>>, key: K): void {
  into[key] = (into[key] ?? 0) + 1;
}

export function summarizeCatalog(source: Iterable<CatalogDocument>): CatalogSummary {
  const ids = new Map<string, number>();
  const files = new Set<string>();
  const languages = new Set<string>();
  const byType: Partial<Record<UpdateType, number>> = {};
  const byRole: Partial<Record<DocumentRole, number>> = {};
  const categoriesByType: Partial<Record<CategoryType, number>> = {};
  const byPublicationState: Partial<Record<PublicationState, number>> = {};
  let documents = 0;
  let laterRevisions = 0;
  let supersedenceEdges = 0;
  let fileReferences = 0;
  let totalBytes = 0;
  for (const d of source) {
    documents++;
    const first = ids.get(d.key.updateId);
    if (first === undefined || d.key.revisionNumber < first) ids.set(d.key.updateId, d.key.revisionNumber);
    if (first !== undefined) laterRevisions++;
    bump(byType, d.spec.properties.updateType);
    bump(byRole, d.role);
    bump(byPublicationState, d.spec.properties.publicationState ?? 'Published');
    if (d.spec.category?.categoryType !== undefined) bump(categoriesByType, d.spec.category.categoryType);
    supersedenceEdges += d.spec.supersedes?.length ?? 0;
    for (const l of d.spec.localized) languages.add(l.language);
    for (const f of d.files) {
      fileReferences++;
      if (files.has(f.sha1)) continue;
      files.add(f.sha1);
      totalBytes += f.size;
    }
  }
  return {
    documents,
    updates: ids.size,
    byType,
    byRole,
    categoriesByType,
    byPublicationState,
    laterRevisions,
    supersedenceEdges,
    languages: [...languages].sort(),
    files: files.size,
    fileReferences,
    totalBytes,
  };
}
