// Hand-built update records for store tests: the shapes the metadata parser produces, without it.
import { createHash } from 'node:crypto';
import type {
  BundleGroup,
  CategoryType,
  Fragments,
  PrerequisiteClause,
  PublicationState,
  UpdateFile,
  UpdateRecord,
  UpdateType,
} from '../../src/domain/update.ts';
import type { RevisionInput } from '../../src/store/index.ts';

export interface RecordSpec {
  updateId: string;
  revisionNumber: number;
  updateType?: UpdateType;
  title?: string;
  publicationState?: PublicationState;
  categoryType?: CategoryType;
  prerequisites?: PrerequisiteClause[];
  bundles?: BundleGroup[];
  supersedes?: string[];
  files?: UpdateFile[];
  languages?: string[];
  /** Extra text in the document, to change it without changing its identity or to make it big. */
  body?: string;
  kbArticleId?: string;
  muUrls?: Record<string, string>;
}

/** A deterministic GUID from a number, so tests can name updates `guid(1)`, `guid(2)`… */
export function guid(n: number, salt = 'update'): string {
  const h = createHash('sha1').update(`${salt}:${n}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A base64 SHA-1 digest standing for a file's content. */
export function sha1Of(text: string): string {
  return createHash('sha1').update(text).digest('base64');
}

export function makeFile(name: string, size = 1234): UpdateFile {
  return {
    sha1: sha1Of(name),
    sha256: createHash('sha256').update(name).digest('base64'),
    fileName: name,
    size,
    modified: '2026-09-01T00:00:00Z',
  };
}

export function makeRevision(spec: RecordSpec): RevisionInput {
  const updateType = spec.updateType ?? 'Software';
  const languages = spec.languages ?? ['en'];
  const title = spec.title ?? `Update ${spec.updateId} r${spec.revisionNumber}`;
  const xml =
    `<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update">` +
    `<upd:UpdateIdentity UpdateID="${spec.updateId}" RevisionNumber="${spec.revisionNumber}" />` +
    `<upd:Properties UpdateType="${updateType}" PublicationState="${spec.publicationState ?? 'Published'}" />` +
    `<upd:Title>${title}</upd:Title>${spec.body ?? ''}</upd:Update>`;
  const record: UpdateRecord = {
    key: { updateId: spec.updateId, revisionNumber: spec.revisionNumber },
    properties: {
      updateType,
      publicationState: spec.publicationState ?? 'Published',
      explicitlyDeployable: updateType === 'Software',
      autoSelectOnWebSites: false,
      isPublic: false,
      perUser: false,
      isBeta: false,
      creationDate: '2026-09-02T08:19:36.190Z',
      ...(spec.kbArticleId !== undefined && { kbArticleId: spec.kbArticleId }),
    },
    localized: languages.map((language) => ({
      language,
      title: language === 'en' ? title : `${title} (${language})`,
      description: `About ${title} in ${language}`,
    })),
    prerequisites: spec.prerequisites ?? [],
    bundles: spec.bundles ?? [],
    supersedes: spec.supersedes ?? [],
    files: spec.files ?? [],
    ...(updateType === 'Category' && {
      category: {
        ...(spec.categoryType !== undefined && { categoryType: spec.categoryType }),
        prohibitsSubcategories: false,
        prohibitsUpdates: false,
        excludedByDefault: false,
      },
    }),
    drivers: [],
    xml,
  };
  const fragments: Fragments = {
    core: `<UpdateIdentity UpdateID="${spec.updateId}" RevisionNumber="${spec.revisionNumber}" /><Properties UpdateType="${updateType}" />${spec.body ?? ''}`,
    extended: `<ExtendedProperties DefaultPropertiesLanguage="en" />`,
    localized: Object.fromEntries(
      languages.map((language) => [language, `<LocalizedProperties><Language>${language}</Language><Title>${title}</Title></LocalizedProperties>`]),
    ),
  };
  return { record, fragments, ...(spec.muUrls !== undefined && { muUrls: spec.muUrls }) };
}

/**
 * A catalog-like synthetic revision: a few detectoid prerequisites, a product and a
 * classification clause, supersedence, files, and a document of a few kilobytes.
 */
export function syntheticRevision(n: number): RevisionInput {
  const rules = Array.from(
    { length: 12 },
    (_, i) =>
      `<bar:RegSz Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion" Value="Build${i}" Comparison="EqualTo" Data="${26100 + ((n * 7 + i) % 97)}" />`,
  ).join('');
  return makeRevision({
    updateId: guid(n, 'synthetic'),
    revisionNumber: 200 + (n % 3),
    title: `2026-09 Cumulative Update for Windows 11 Version 25H2 for x64-based Systems (KB${5000000 + n})`,
    kbArticleId: String(5000000 + n),
    prerequisites: [
      { updateIds: [guid(n % 50, 'detectoid')], isCategory: false },
      { updateIds: [guid(n % 40, 'detectoid'), guid((n + 1) % 40, 'detectoid')], isCategory: false },
      { updateIds: [guid(n % 20, 'product')], isCategory: true },
      { updateIds: ['0fa1201d-4330-4fa8-8ae9-b877473b6441'], isCategory: true },
    ],
    supersedes: [guid(n - 1, 'synthetic'), guid(n - 2, 'synthetic')],
    files: [makeFile(`windows11.0-kb${5000000 + n}-x64.cab`, 1_000_000 + n), makeFile(`shared-${n % 100}.psf`, 5000)],
    languages: ['en', 'de', 'fr'],
    body: `<upd:ApplicabilityRules><upd:IsInstalled><lar:And>${rules}</lar:And></upd:IsInstalled></upd:ApplicabilityRules>`,
  });
}
