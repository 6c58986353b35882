// Writes `upd:Update` documents shaped like the ones Microsoft Update serves (WSUS-PROTOCOLS §3):
// same element order, `upd:` prefixes, namespace declarations on the root plus the redeclarations MU
// puts on applicability-rule and handler elements. Pure: no I/O.
import type {
  BundleGroup,
  CategoryInformation,
  DriverMetadata,
  LocalizedProperties,
  PrerequisiteClause,
  PublicationState,
  RevisionKey,
  UpdateFile,
  UpdateProperties,
  UpdateRecord,
} from '../domain/update.ts';
import { canonicalGuid } from '../domain/update.ts';
import { NAMESPACES } from '../domain/wellknown.ts';

// ---------------------------------------------------------------------------------------------
// Spec

type OptionalFlags = 'explicitlyDeployable' | 'autoSelectOnWebSites' | 'isPublic' | 'perUser' | 'isBeta';

/**
 * `UpdateProperties` where every flag may be left out: MU omits most of them, and a flag is written
 * only when the spec sets it (to true or false), so a spec can reproduce either style.
 */
export type PropertiesSpec = Omit<UpdateProperties, OptionalFlags | 'publicationState'> & {
  readonly [K in OptionalFlags]?: boolean;
} & {
  /** Defaults to `Published`; always written, as MU does. */
  readonly publicationState?: PublicationState;
};

/** One element of an applicability expression; `lar:`/`bar:`/`drv:`… prefixes as MU spells them. */
export interface RuleNode {
  readonly prefix: string;
  readonly name: string;
  readonly attributes?: Readonly<Record<string, string | number | boolean>>;
  readonly children?: readonly RuleNode[];
  readonly text?: string;
}

/** Either a rule tree (serialized MU-style) or an XML snippet inserted verbatim. */
export type RuleXml = RuleNode | string;

export interface ApplicabilitySpec {
  readonly isInstalled?: RuleXml;
  readonly isInstallable?: RuleXml;
  readonly isSuperseded?: RuleXml;
  /** Extra metadata elements; driver metadata from `UpdateSpec.drivers` is appended after them. */
  readonly metadata?: readonly RuleXml[];
}

export interface DriverFeatureScore {
  readonly operatingSystem: string;
  /** Hex byte as MU writes it (`FF`). */
  readonly featureScore: string;
}

export interface DriverMetadataSpec extends DriverMetadata {
  readonly featureScores?: readonly DriverFeatureScore[];
}

export interface ReturnCode {
  readonly code: number;
  readonly result: 'Succeeded' | 'Failed' | 'Cancelled';
  readonly reboot?: boolean;
  readonly description?: string;
}

export type HandlerData =
  | {
      readonly kind: 'commandLine';
      readonly program: string;
      readonly arguments?: string;
      readonly rebootByDefault?: boolean;
      readonly defaultResult?: 'Succeeded' | 'Failed' | 'Cancelled';
      readonly returnCodes: readonly ReturnCode[];
    }
  | { readonly kind: 'driver' }
  /** Any other handler: `type` is the `xsi:type` (prefix kept), `xml` the element content verbatim. */
  | { readonly kind: 'raw'; readonly type: string; readonly xml: string };

/**
 * A prerequisite clause as written. A clause of one non-category id is written as a direct
 * `UpdateIdentity` unless `atLeastOne` asks for the `AtLeastOne` wrapper MU also uses (same meaning).
 */
export interface PrerequisiteClauseSpec extends PrerequisiteClause {
  readonly atLeastOne?: boolean;
}

/**
 * What `writeUpdateXml` needs: an `UpdateRecord` without its `xml`, plus the parts a record does not
 * keep (rule expressions, handler data, driver feature scores). `category` produces the
 * `cat:Category` handler data; `drivers` produce `drv:WindowsDriverMetaData` rule metadata.
 */
export interface UpdateSpec {
  readonly key: RevisionKey;
  readonly properties: PropertiesSpec;
  readonly localized: readonly LocalizedProperties[];
  readonly prerequisites?: readonly PrerequisiteClauseSpec[];
  readonly bundles?: readonly BundleGroup[];
  readonly supersedes?: readonly string[];
  readonly applicability?: ApplicabilitySpec;
  readonly files?: readonly UpdateFile[];
  readonly category?: CategoryInformation;
  readonly drivers?: readonly DriverMetadataSpec[];
  readonly handlerData?: HandlerData;
}

// ---------------------------------------------------------------------------------------------
// Rule builders

function node(prefix: string, name: string, children: readonly RuleNode[] = [], attributes?: RuleNode['attributes']): RuleNode {
  return attributes === undefined ? { prefix, name, children } : { prefix, name, children, attributes };
}

/** Builders for applicability expressions (WSUS-PROTOCOLS §3.6). */
export const rule = {
  and: (...children: RuleNode[]): RuleNode => node('lar', 'And', children),
  or: (...children: RuleNode[]): RuleNode => node('lar', 'Or', children),
  not: (child: RuleNode): RuleNode => node('lar', 'Not', [child]),
  true: (): RuleNode => node('lar', 'True'),
  false: (): RuleNode => node('lar', 'False'),
  /** A `bar:` operator (`WindowsVersion`, `RegDword`, `Processor`, `WmiQuery`…). */
  bar: (name: string, attributes: RuleNode['attributes']): RuleNode => node('bar', name, [], attributes),
  element: node,
};

// ---------------------------------------------------------------------------------------------
// Escaping

// XML 1.0 Char production; with the `u` flag a lone surrogate is not in any range and matches.
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
// Cheap pre-test: only strings with these code units can hold a character XML refuses.
const SUSPECT = /[\x00-\x08\x0B\x0C\x0E-\x1F\uD800-\uDFFF\uFFFE\uFFFF]/;
const TEXT_SPECIAL = /[&<>\r]/;
const ATTR_SPECIAL = /[&<>"\t\n\r]/;
const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  // Character references survive attribute-value and end-of-line normalization.
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

function checkChars(value: string): void {
  if (SUSPECT.test(value) && NOT_XML_CHAR.test(value)) {
    throw new RangeError(`value holds a character XML 1.0 cannot carry: ${JSON.stringify(value.slice(0, 80))}`);
  }
}

export function escapeText(value: string): string {
  checkChars(value);
  return TEXT_SPECIAL.test(value) ? value.replace(/[&<>\r]/g, (c) => ESCAPES[c] ?? c) : value;
}

export function escapeAttribute(value: string): string {
  checkChars(value);
  return ATTR_SPECIAL.test(value) ? value.replace(/[&<>"\t\n\r]/g, (c) => ESCAPES[c] ?? c) : value;
}

function attr(name: string, value: string | number | boolean | undefined): string {
  return value === undefined ? '' : ` ${name}="${escapeAttribute(String(value))}"`;
}

function textElement(name: string, value: string | undefined): string {
  return value === undefined ? '' : `<${name}>${escapeText(value)}</${name}>`;
}

// ---------------------------------------------------------------------------------------------
// Writer

const UPD_NS = NAMESPACES.upd;
const KNOWN_NS: Readonly<Record<string, string>> = NAMESPACES;
// Root declarations in the order MU writes them: pub first, upd last, the rest in between.
const ROOT_ORDER = ['pub', 'bar', 'lar', 'mar', 'drv', 'cat', 'cmd', 'cbs', 'msp', 'psf', 'wsi', 'osi'] as const;

export const HANDLER_URIS = {
  category: NAMESPACES.cat,
  commandLine: NAMESPACES.cmd,
  driver: NAMESPACES.drv,
} as const;

const LOWER_GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function guid(value: string, what: string): string {
  if (LOWER_GUID.test(value)) return value;
  const g = canonicalGuid(value);
  if (g === undefined) throw new TypeError(`${what} is not a GUID: ${JSON.stringify(value)}`);
  return g;
}

function count(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`${what} must be a non-negative integer, got ${value}`);
  return value;
}

function ruleToXml(r: RuleNode, declared: readonly string[], used: Set<string>): string {
  let out = `<${r.prefix}:${r.name}`;
  if (r.attributes !== undefined) {
    for (const k in r.attributes) out += attr(k, r.attributes[k]);
  }
  used.add(r.prefix);
  const children = r.children ?? [];
  // MU declares a rule prefix on the outermost element that uses it, after the attributes.
  const uri = KNOWN_NS[r.prefix];
  const declare = uri !== undefined && !declared.includes(r.prefix);
  if (declare) out += ` xmlns:${r.prefix}="${uri}"`;
  if (children.length === 0 && r.text === undefined) return `${out} />`;
  out += '>';
  if (r.text !== undefined) out += escapeText(r.text);
  const inner = declare ? [...declared, r.prefix] : declared;
  for (const c of children) out += ruleToXml(c, inner, used);
  return `${out}</${r.prefix}:${r.name}>`;
}

/** Serializes a rule and notes the prefixes it uses, for the root declarations. */
function ruleXml(r: RuleXml, used: Set<string>): string {
  if (typeof r !== 'string') return ruleToXml(r, [], used);
  for (const m of r.matchAll(/<([A-Za-z_][\w.-]*):/g)) used.add(m[1] as string);
  return r;
}

function driverXml(d: DriverMetadataSpec): string {
  let out =
    `<drv:WindowsDriverMetaData${attr('HardwareID', d.hardwareId)}${attr('WhqlDriverID', d.whqlDriverId)}` +
    `${attr('Manufacturer', d.manufacturer)}${attr('Company', d.company)}${attr('Provider', d.provider)}` +
    `${attr('DriverVerDate', d.driverVerDate)}${attr('DriverVerVersion', d.driverVerVersion)}${attr('Class', d.driverClass)}` +
    ` xmlns:drv="${NAMESPACES.drv}"`;
  const scores = d.featureScores ?? [];
  if (scores.length === 0 && d.computerHardwareIds.length === 0) return `${out} />`;
  out += '>';
  for (const s of scores) out += `<drv:FeatureScore${attr('OperatingSystem', s.operatingSystem)}${attr('FeatureScore', s.featureScore)} />`;
  for (const id of d.computerHardwareIds) out += `<drv:TargetComputerHardwareId>${guid(id, 'TargetComputerHardwareId')}</drv:TargetComputerHardwareId>`;
  return `${out}</drv:WindowsDriverMetaData>`;
}

/** The `Handler` URI a spec's document carries: the explicit one, else the one its handler data implies. */
export function handlerUri(spec: UpdateSpec): string | undefined {
  if (spec.properties.handler !== undefined) return spec.properties.handler;
  if (spec.category !== undefined) return HANDLER_URIS.category;
  switch (spec.handlerData?.kind) {
    case 'commandLine':
      return HANDLER_URIS.commandLine;
    case 'driver':
      return HANDLER_URIS.driver;
    default:
      return undefined;
  }
}

/** `xsi:type` of the spec's `HandlerSpecificData`, or undefined when it has none. */
export function handlerType(spec: UpdateSpec): string | undefined {
  if (spec.category !== undefined) return 'cat:Category';
  switch (spec.handlerData?.kind) {
    case 'commandLine':
      return 'cmd:CommandLineInstallation';
    case 'driver':
      return 'drv:WindowsDriver';
    case 'raw':
      return spec.handlerData.type;
    default:
      return undefined;
  }
}

function propertiesXml(spec: UpdateSpec): string {
  const p = spec.properties;
  let out =
    `<upd:Properties${attr('UpdateType', p.updateType)}${attr('DefaultPropertiesLanguage', p.defaultPropertiesLanguage)}` +
    `${attr('AutoSelectOnWebSites', p.autoSelectOnWebSites)}${attr('ExplicitlyDeployable', p.explicitlyDeployable)}` +
    `${attr('PerUser', p.perUser)}${attr('IsPublic', p.isPublic)}${attr('IsBeta', p.isBeta)}` +
    `${attr('MsrcSeverity', p.msrcSeverity)}${attr('EulaID', p.eulaId)}${attr('OSUpgrade', p.osUpgrade)}` +
    `${attr('DetectoidType', p.detectoidType)}${attr('Handler', handlerUri(spec))}` +
    `${attr('MaxDownloadSize', p.maxDownloadSize === undefined ? undefined : count(p.maxDownloadSize, 'MaxDownloadSize'))}` +
    `${attr('MinDownloadSize', p.minDownloadSize === undefined ? undefined : count(p.minDownloadSize, 'MinDownloadSize'))}` +
    `${attr('PublicationState', p.publicationState ?? 'Published')}${attr('CreationDate', p.creationDate)}` +
    `${attr('PublisherID', p.publisherId)}${attr('LegacyName', p.legacyName)}>`;
  if (p.installationBehavior !== undefined) out += behaviorXml('upd:InstallationBehavior', p.installationBehavior);
  if (p.uninstallationBehavior !== undefined) out += behaviorXml('upd:UninstallationBehavior', p.uninstallationBehavior);
  out += textElement('upd:SupportUrl', p.supportUrl);
  out += textElement('upd:MoreInfoUrl', p.moreInfoUrl);
  out += textElement('upd:SecurityBulletinID', p.securityBulletinId);
  out += textElement('upd:KBArticleID', p.kbArticleId);
  // MU writes an empty Properties as a start-end pair, never self-closed.
  return `${out}</upd:Properties>`;
}

function behaviorXml(name: string, attributes: Readonly<Record<string, string>>): string {
  let out = `<${name}`;
  for (const [k, v] of Object.entries(attributes)) out += attr(k, v);
  return `${out} />`;
}

function localizedXml(spec: UpdateSpec): string {
  let out = '<upd:LocalizedPropertiesCollection>';
  for (const l of spec.localized) {
    out +=
      `<upd:LocalizedProperties>${textElement('upd:Language', l.language)}${textElement('upd:Title', l.title)}` +
      `${textElement('upd:Description', l.description)}${textElement('upd:UninstallNotes', l.uninstallNotes)}` +
      `${textElement('upd:MoreInfoUrl', l.moreInfoUrl)}${textElement('upd:SupportUrl', l.supportUrl)}</upd:LocalizedProperties>`;
  }
  return `${out}</upd:LocalizedPropertiesCollection>`;
}

function identity(id: string, revision?: number): string {
  return `<upd:UpdateIdentity UpdateID="${guid(id, 'UpdateID')}"${revision === undefined ? '' : ` RevisionNumber="${count(revision, 'RevisionNumber')}"`} />`;
}

function relationshipsXml(spec: UpdateSpec): string {
  let out = '';
  const supersedes = spec.supersedes ?? [];
  // Order as in the real bundle documents: SupersededUpdates, Prerequisites, BundledUpdates.
  if (supersedes.length > 0) {
    out += '<upd:SupersededUpdates>';
    for (const id of supersedes) out += identity(id);
    out += '</upd:SupersededUpdates>';
  }
  const prerequisites = spec.prerequisites ?? [];
  if (prerequisites.length > 0) {
    out += '<upd:Prerequisites>';
    for (const clause of prerequisites) {
      if (clause.updateIds.length === 0) throw new TypeError('a prerequisite clause names no update');
      if (clause.updateIds.length === 1 && !clause.isCategory && clause.atLeastOne !== true) {
        out += identity(clause.updateIds[0] as string);
        continue;
      }
      out += clause.isCategory ? '<upd:AtLeastOne IsCategory="true">' : '<upd:AtLeastOne>';
      for (const id of clause.updateIds) out += identity(id);
      out += '</upd:AtLeastOne>';
    }
    out += '</upd:Prerequisites>';
  }
  const bundles = spec.bundles ?? [];
  if (bundles.length > 0) {
    out += '<upd:BundledUpdates>';
    for (const group of bundles) {
      if (group.members.length === 0) throw new TypeError('a bundle group has no members');
      if (group.atLeastOne) out += '<upd:AtLeastOne>';
      for (const m of group.members) out += identity(m.updateId, m.revisionNumber);
      if (group.atLeastOne) out += '</upd:AtLeastOne>';
    }
    out += '</upd:BundledUpdates>';
  }
  return out === '' ? '' : `<upd:Relationships>${out}</upd:Relationships>`;
}

function applicabilityXml(spec: UpdateSpec, used: Set<string>): string {
  const a = spec.applicability ?? {};
  const metadata = (a.metadata ?? []).map((m) => ruleXml(m, used));
  const drivers = spec.drivers ?? [];
  if (drivers.length > 0) used.add('drv');
  for (const d of drivers) metadata.push(driverXml(d));
  let out = '';
  if (a.isInstalled !== undefined) out += `<upd:IsInstalled>${ruleXml(a.isInstalled, used)}</upd:IsInstalled>`;
  if (a.isInstallable !== undefined) out += `<upd:IsInstallable>${ruleXml(a.isInstallable, used)}</upd:IsInstallable>`;
  if (a.isSuperseded !== undefined) out += `<upd:IsSuperseded>${ruleXml(a.isSuperseded, used)}</upd:IsSuperseded>`;
  if (metadata.length > 0) out += `<upd:Metadata>${metadata.join('')}</upd:Metadata>`;
  return out === '' ? '' : `<upd:ApplicabilityRules>${out}</upd:ApplicabilityRules>`;
}

const SHA1_B64 = /^[A-Za-z0-9+/]{27}=$/;
const SHA256_B64 = /^[A-Za-z0-9+/]{43}=$/;

function filesXml(spec: UpdateSpec): string {
  const files = spec.files ?? [];
  if (files.length === 0) return '';
  let out = '<upd:Files>';
  for (const f of files) {
    if (!SHA1_B64.test(f.sha1)) throw new TypeError(`file ${f.fileName}: Digest is not a base64 SHA-1`);
    if (f.sha256 !== undefined && !SHA256_B64.test(f.sha256)) throw new TypeError(`file ${f.fileName}: not a base64 SHA-256`);
    out +=
      `<upd:File Digest="${f.sha1}" DigestAlgorithm="SHA1"${attr('FileName', f.fileName)} Size="${count(f.size, 'Size')}"` +
      `${attr('Modified', f.modified)}${attr('PatchingType', f.patchingType)}`;
    out += f.sha256 === undefined ? ' />' : `><upd:AdditionalDigest Algorithm="SHA256">${f.sha256}</upd:AdditionalDigest></upd:File>`;
  }
  return `${out}</upd:Files>`;
}

function handlerXml(spec: UpdateSpec): string {
  const type = handlerType(spec);
  if (type === undefined) return '';
  const open = `<upd:HandlerSpecificData xsi:type="${escapeAttribute(type)}" xmlns:xsi="${NAMESPACES.xsi}"`;
  const c = spec.category;
  if (c !== undefined) {
    return (
      `${open}><cat:CategoryInformation${attr('CategoryType', c.categoryType)}` +
      `${attr('ProhibitsSubcategories', c.prohibitsSubcategories)}${attr('ProhibitsUpdates', c.prohibitsUpdates)}` +
      `${attr('DisplayOrder', c.displayOrder)}${c.excludedByDefault ? ' ExcludedByDefault="true"' : ''} /></upd:HandlerSpecificData>`
    );
  }
  const h = spec.handlerData;
  switch (h?.kind) {
    case 'commandLine': {
      let out =
        `${open}><cmd:InstallCommand${attr('Program', h.program)}${attr('Arguments', h.arguments)}` +
        `${attr('RebootByDefault', h.rebootByDefault)}${attr('DefaultResult', h.defaultResult)} xmlns:cmd="${NAMESPACES.cmd}">`;
      for (const r of h.returnCodes) {
        out += `<cmd:ReturnCode Code="${r.code}"${attr('Result', r.result)}${attr('Reboot', r.reboot)}${attr('DefaultLocalizedDescription', r.description)} />`;
      }
      return `${out}</cmd:InstallCommand></upd:HandlerSpecificData>`;
    }
    case 'raw':
      return h.xml === '' ? `${open} />` : `${open}>${h.xml}</upd:HandlerSpecificData>`;
    default:
      // The driver handler carries no data of its own: everything is in the rule metadata.
      return `${open} />`;
  }
}

/** Serializes one update document. Throws on ids that are not GUIDs and on characters XML cannot hold. */
export function writeUpdateXml(spec: UpdateSpec): string {
  if (spec.category !== undefined && spec.handlerData !== undefined) {
    throw new TypeError('a category carries the Category handler; it cannot have other handler data');
  }
  const used = new Set<string>(['pub']);
  const body =
    identity(spec.key.updateId, spec.key.revisionNumber) +
    propertiesXml(spec) +
    localizedXml(spec) +
    relationshipsXml(spec) +
    applicabilityXml(spec, used);
  const tail = filesXml(spec) + handlerXml(spec);
  const type = handlerType(spec);
  if (type !== undefined && type.includes(':')) used.add(type.slice(0, type.indexOf(':')));
  let declarations = '';
  for (const p of ROOT_ORDER) if (used.has(p)) declarations += ` xmlns:${p}="${KNOWN_NS[p]}"`;
  return `<upd:Update${declarations} xmlns:upd="${UPD_NS}">${body}${tail}</upd:Update>`;
}

// ---------------------------------------------------------------------------------------------
// The record a spec stands for

function lowerIds(ids: readonly string[]): string[] {
  return ids.map((id) => guid(id, 'UpdateID'));
}

// Direct members are bare UpdateIdentity elements: a reader cannot tell two all-of groups apart, so
// they read back as one group at the place of the first.
function expectedBundles(groups: readonly BundleGroup[]): BundleGroup[] {
  const out: BundleGroup[] = [];
  let direct: RevisionKey[] | undefined;
  for (const g of groups) {
    const members = g.members.map((m) => ({ updateId: guid(m.updateId, 'UpdateID'), revisionNumber: m.revisionNumber }));
    if (g.atLeastOne) {
      out.push({ atLeastOne: true, members });
    } else if (direct === undefined) {
      direct = members;
      out.push({ atLeastOne: false, members: direct });
    } else {
      direct.push(...members);
    }
  }
  return out;
}

/**
 * The `UpdateRecord` a correct parser yields for `writeUpdateXml(spec)` (= `xml`): ids lower-cased,
 * absent flags false, the handler URI and type the document carries. Tests compare parsers with it.
 */
export function expectedRecord(spec: UpdateSpec, xml: string): UpdateRecord {
  const p = spec.properties;
  const properties = compact({
    ...p,
    handler: handlerUri(spec),
    publicationState: p.publicationState ?? 'Published',
    explicitlyDeployable: p.explicitlyDeployable ?? false,
    autoSelectOnWebSites: p.autoSelectOnWebSites ?? false,
    isPublic: p.isPublic ?? false,
    perUser: p.perUser ?? false,
    isBeta: p.isBeta ?? false,
  }) as UpdateProperties;
  return compact({
    key: { updateId: guid(spec.key.updateId, 'UpdateID'), revisionNumber: spec.key.revisionNumber },
    properties,
    localized: spec.localized.map((l) => compact({ ...l, language: l.language.toLowerCase() }) as LocalizedProperties),
    prerequisites: (spec.prerequisites ?? []).map((c) => ({ updateIds: lowerIds(c.updateIds), isCategory: c.isCategory })),
    bundles: expectedBundles(spec.bundles ?? []),
    supersedes: lowerIds(spec.supersedes ?? []),
    files: (spec.files ?? []).map(
      (f): UpdateFile =>
        compact({ sha1: f.sha1, sha256: f.sha256, fileName: f.fileName, size: f.size, modified: f.modified, patchingType: f.patchingType }) as UpdateFile,
    ),
    category: spec.category === undefined ? undefined : (compact({ ...spec.category }) as CategoryInformation),
    drivers: (spec.drivers ?? []).map(
      ({ featureScores: _scores, ...d }): DriverMetadata => compact({ ...d, computerHardwareIds: lowerIds(d.computerHardwareIds) }) as DriverMetadata,
    ),
    handlerType: handlerType(spec),
    xml,
  }) as UpdateRecord;
}

/** A copy without the keys whose value is undefined: records leave absent values out. */
function compact<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
  return out as T;
}
