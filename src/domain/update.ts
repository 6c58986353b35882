// The vocabulary of the update catalog, as the update document (WSUS-PROTOCOLS §3) defines it.
// Pure types and tiny pure helpers: no I/O here.

export type UpdateType = 'Software' | 'Driver' | 'Category' | 'Detectoid';

export type CategoryType = 'Company' | 'ProductFamily' | 'Product' | 'UpdateClassification';

export type PublicationState = 'Published' | 'Expired';

/** Identity of one revision of one update. `updateId` is always lower-case. */
export interface RevisionKey {
  readonly updateId: string;
  readonly revisionNumber: number;
}

/**
 * One clause of a prerequisite formula in conjunctive normal form: satisfied when at least one
 * of `updateIds` (each meaning that update's newest revision) is installed. A direct
 * `UpdateIdentity` under `Prerequisites` is a clause of one id.
 */
export interface PrerequisiteClause {
  readonly updateIds: readonly string[];
  /** `AtLeastOne IsCategory="true"`: the clause names parent categories (product, classification). */
  readonly isCategory: boolean;
}

/** One group of bundled children: all of them when `atLeastOne` is false, one applicable otherwise. */
export interface BundleGroup {
  readonly members: readonly RevisionKey[];
  readonly atLeastOne: boolean;
}

export interface UpdateFile {
  /** SHA-1 of the content, base64 (20 bytes), as `File/@Digest` carries it. */
  readonly sha1: string;
  /** SHA-256, base64 (32 bytes), from `AdditionalDigest Algorithm="SHA256"` when present. */
  readonly sha256?: string;
  readonly fileName: string;
  readonly size: number;
  readonly modified?: string;
  readonly patchingType?: string;
}

export interface LocalizedProperties {
  /** Language tag as the document spells it, lower-cased (`en`, `pt-br`, `zh-cn`). */
  readonly language: string;
  readonly title: string;
  readonly description?: string;
  readonly uninstallNotes?: string;
  readonly moreInfoUrl?: string;
  readonly supportUrl?: string;
}

export interface CategoryInformation {
  /** Absent on root categories that carry no type. */
  readonly categoryType?: CategoryType;
  readonly prohibitsSubcategories: boolean;
  readonly prohibitsUpdates: boolean;
  readonly displayOrder?: number;
  readonly excludedByDefault: boolean;
}

export interface UpdateProperties {
  readonly updateType: UpdateType;
  readonly defaultPropertiesLanguage?: string;
  readonly handler?: string;
  readonly publicationState: PublicationState;
  readonly creationDate?: string;
  readonly publisherId?: string;
  readonly explicitlyDeployable: boolean;
  readonly autoSelectOnWebSites: boolean;
  readonly isPublic: boolean;
  readonly perUser: boolean;
  readonly isBeta: boolean;
  readonly eulaId?: string;
  readonly osUpgrade?: string;
  readonly legacyName?: string;
  readonly detectoidType?: string;
  readonly msrcSeverity?: string;
  readonly maxDownloadSize?: number;
  readonly minDownloadSize?: number;
  readonly kbArticleId?: string;
  readonly securityBulletinId?: string;
  readonly supportUrl?: string;
  readonly moreInfoUrl?: string;
  /** `InstallationBehavior` attributes (Impact, RebootBehavior, CanRequestUserInput...). */
  readonly installationBehavior?: Readonly<Record<string, string>>;
  /** `UninstallationBehavior` attributes; its presence makes the update uninstallable. */
  readonly uninstallationBehavior?: Readonly<Record<string, string>>;
}

/** Driver facts from `drv:WindowsDriverMetaData`, used for driver filtering later. */
export interface DriverMetadata {
  readonly hardwareId: string;
  readonly whqlDriverId?: string;
  readonly manufacturer?: string;
  readonly company?: string;
  readonly provider?: string;
  readonly driverVerDate?: string;
  readonly driverVerVersion?: string;
  readonly driverClass?: string;
  readonly computerHardwareIds: readonly string[];
}

/**
 * A parsed update document. `xml` keeps the document verbatim: it is what upstream servers pass
 * on and what export files carry; everything else is derived from it at ingest.
 */
export interface UpdateRecord {
  readonly key: RevisionKey;
  readonly properties: UpdateProperties;
  readonly localized: readonly LocalizedProperties[];
  readonly prerequisites: readonly PrerequisiteClause[];
  readonly bundles: readonly BundleGroup[];
  /** Update ids this update supersedes. */
  readonly supersedes: readonly string[];
  readonly files: readonly UpdateFile[];
  readonly category?: CategoryInformation;
  readonly drivers: readonly DriverMetadata[];
  /** `xsi:type` of `HandlerSpecificData`, prefix kept (`cmd:CommandLineInstallation`). */
  readonly handlerType?: string;
  readonly xml: string;
}

/**
 * The pieces of a document a client receives (WSUS-PROTOCOLS §4.5): not well-formed XML on
 * purpose, exactly as a real WSUS sends them. `localized` is keyed by language.
 */
export interface Fragments {
  readonly core: string;
  readonly extended: string;
  readonly localized: Readonly<Record<string, string>>;
}

/**
 * Version of the rules that derive records and fragments from a document. Stored revisions are
 * compared by document and this version, so bumping it when a parser or fragment rule changes
 * makes the next sync or import rewrite every revision's derived rows.
 */
export const DERIVATION_VERSION = 1;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Canonical (lower-case) form of a GUID, or undefined when it is not one. */
export function canonicalGuid(value: string): string | undefined {
  const v = value.trim().toLowerCase().replace(/^\{(.*)\}$/, '$1');
  return GUID.test(v) ? v : undefined;
}

export function revisionKeyString(key: RevisionKey): string {
  return `${key.updateId}/${key.revisionNumber}`;
}

/** WSUS content layout: the last SHA-1 byte, two upper-case hex digits (WSUS-PROTOCOLS §2.10). */
export function contentFolder(sha1Hex: string): string {
  return sha1Hex.slice(-2).toUpperCase();
}

export function sha1Base64ToHex(sha1: string): string {
  return Buffer.from(sha1, 'base64').toString('hex').toUpperCase();
}

/** Relative content path `XX/SHA1HEX.ext` of a file, as WSUS lays out `WsusContent`. */
export function contentPath(file: Pick<UpdateFile, 'sha1' | 'fileName'>): string {
  const hex = sha1Base64ToHex(file.sha1);
  const dot = file.fileName.lastIndexOf('.');
  const ext = dot >= 0 ? file.fileName.slice(dot).toLowerCase() : '';
  return `${contentFolder(hex)}/${hex}${ext}`;
}
