// Builds the documents of one "unit": one update of a line (a bundle with its leaf children, or a
// standalone update, or a driver) at one slot, with its revisions. Everything is a pure function of
// (seed, line, slot), so a unit can be rebuilt alone: the incremental mode revises and expires units
// of the base catalog without generating the rest of it.
import type { LocalizedProperties, PublicationState, RevisionKey, UpdateType } from '../domain/update.ts';
import { rule, writeUpdateXml, type HandlerData, type PrerequisiteClauseSpec, type PropertiesSpec, type RuleNode, type UpdateSpec } from '../metadata/update-writer.ts';
import { describeFile, type CatalogFile } from './payload.ts';
import { CLASSIFICATIONS } from '../domain/wellknown.ts';
import { Rng, guidOf } from './random.ts';
import {
  ARCH,
  BULK_DRIVER_MODELS,
  CATALOG_END,
  CATEGORY,
  DETECTOID,
  archDetectoidId,
  monthIndex,
  slotAround,
  slotDate,
  yearMonth,
  type Arch,
  type CategoryDef,
  type DetectoidDef,
  type DriverModel,
  type LineDef,
} from './taxonomy.ts';
import {
  CLASSIFICATION_TITLES_LOCALIZED,
  CU_TITLE,
  DEFENDER_DESCRIPTION,
  DEFENDER_TITLE,
  DOTNET_FX_TITLE,
  FIX_DESCRIPTION,
  MSRT_DESCRIPTION,
  MSRT_TITLE,
  OFFICE_TITLE,
  SAME_TITLE,
  say,
} from './texts.ts';

export type DocumentRole = 'category' | 'detectoid' | 'bundle' | 'bundled-leaf' | 'standalone' | 'driver';
export type ChangeKind = 'new-update' | 'new-revision' | 'expiration' | 'new-category';

/** One generated revision: its document, the spec it was written from, and the files it names. */
export interface CatalogDocument {
  readonly key: RevisionKey;
  readonly role: DocumentRole;
  /** Set on the documents of `generateCatalogChanges`: why the document is new that day. */
  readonly change?: ChangeKind;
  readonly spec: UpdateSpec;
  readonly xml: string;
  readonly files: readonly CatalogFile[];
}

export interface FileSizeRange {
  readonly min: number;
  readonly max: number;
}

export interface Settings {
  readonly seed: string;
  readonly languages: readonly string[];
  readonly fileSize: FileSizeRange;
  /** One file in `every` (by hash) gets a size from `size` instead: big payloads for benchmarks. */
  readonly largeFiles?: { readonly every: number; readonly size: FileSizeRange };
}

// Publisher ids seen in real documents.
const PUBLISHER_MU = '395392a0-19c0-48b7-a927-f7c15066d905';
const PUBLISHER_DEFENDER = 'bccf8ca0-2819-4598-8d15-c1506e363e92';
const HKLM = 'HKEY_LOCAL_MACHINE';

export function iso(t: number): string {
  return new Date(t).toISOString();
}

function isoSeconds(t: number): string {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---------------------------------------------------------------------------------------------
// Files

/**
 * Makes catalog files and remembers the most recent ones: shared files recur close together in the
 * stream, so a small cache spares rehashing them while memory stays bounded.
 */
export class FileFactory {
  readonly #settings: Settings;
  readonly #cache = new Map<string, CatalogFile>();
  static readonly CACHE_SIZE = 256;

  constructor(settings: Settings) {
    this.#settings = settings;
  }

  size(fileKey: string): number {
    const s = this.#settings;
    const rng = Rng.of(s.seed, 'size', fileKey);
    const large = s.largeFiles !== undefined && rng.int(1, s.largeFiles.every) === 1;
    const range = large && s.largeFiles !== undefined ? s.largeFiles.size : s.fileSize;
    const lo = Math.log(Math.max(1, range.min));
    const hi = Math.log(Math.max(range.min, range.max, 1));
    return Math.max(1, Math.round(Math.exp(lo + rng.float() * (hi - lo))));
  }

  file(fileKey: string, fileName: string, modified: number): CatalogFile {
    const hit = this.#cache.get(fileKey);
    if (hit !== undefined) {
      // A key names one file: were it reused with another name or date, the output would depend on
      // which unit came first, and determinism would silently depend on stream order.
      if (hit.fileName !== fileName || hit.modified !== isoSeconds(modified)) {
        throw new Error(`file key ${fileKey} reused for ${fileName}, first made as ${hit.fileName}`);
      }
      this.#cache.delete(fileKey);
      this.#cache.set(fileKey, hit);
      return hit;
    }
    const f = describeFile(this.#settings.seed, fileKey, fileName, this.size(fileKey), isoSeconds(modified));
    this.#cache.set(fileKey, f);
    if (this.#cache.size > FileFactory.CACHE_SIZE) {
      const oldest = this.#cache.keys().next().value as string;
      this.#cache.delete(oldest);
    }
    return f;
  }
}

export interface Ctx {
  readonly settings: Settings;
  readonly files: FileFactory;
}

// ---------------------------------------------------------------------------------------------
// Slots and plans

export function lineSlotDate(seed: string, line: LineDef, s: number): number {
  const jitter = line.cadence.kind === 'periodic' ? Rng.of(seed, 'jitter', line.id, s).float() : 0;
  return slotDate(line.cadence, s, jitter);
}

export function lastSlotAtOrBefore(seed: string, line: LineDef, t: number): number {
  const s = slotAround(line.cadence, t);
  return lineSlotDate(seed, line, s) > t ? s - 1 : s;
}

export function firstSlotAtOrAfter(seed: string, line: LineDef, t: number): number {
  return lastSlotAtOrBefore(seed, line, t - 1) + 1;
}

export interface UnitPlan {
  /** Published revisions of the top document (first, first+1, …). */
  readonly revisions: number;
  /** Whether one more revision follows that expires the update. */
  readonly expired: boolean;
  readonly children: number;
  readonly docs: number;
}

/** The shape of a unit, cheap to compute: the planner counts documents with it. */
export function planUnit(seed: string, line: LineDef, s: number, fresh = false): UnitPlan {
  const rng = Rng.of(seed, 'plan', line.id, s);
  const revisions = rng.weighted([
    [1, 80],
    [2, 15],
    [3, 5],
  ] as const);
  const expired = rng.chance(0.05);
  let children = 0;
  if (line.kind === 'cu') children = rng.chance(0.35) ? 2 : 1;
  else if (line.kind === 'dotnetfx') children = 2;
  else if (line.kind === 'defender') children = 3;
  // A unit published in the incremental mode starts at its first revision, like any new update.
  const r = fresh ? 1 : revisions;
  const x = fresh ? false : expired;
  return { revisions: r, expired: x, children, docs: r + (x ? 1 : 0) + children };
}

export function unitTopId(seed: string, line: LineDef, s: number): string {
  return guidOf(seed, 'id', line.id, s);
}

function unitChildId(seed: string, line: LineDef, s: number, i: number): string {
  return guidOf(seed, 'id', line.id, s, 'child', i);
}

// ---------------------------------------------------------------------------------------------
// Spec helpers

const allLanguages = (ctx: Ctx, title: (lang: string) => string, description?: (lang: string) => string, urls: Partial<LocalizedProperties> = {}): LocalizedProperties[] =>
  ctx.settings.languages.map((language) => {
    const l: LocalizedProperties = { language, title: title(language), ...urls };
    return description === undefined ? l : { ...l, description: description(language) };
  });

const english = (title: string, description?: string): LocalizedProperties[] => [
  description === undefined ? { language: 'en', title } : { language: 'en', title, description },
];

const direct = (id: string): PrerequisiteClauseSpec => ({ updateIds: [id], isCategory: false });
const anyOf = (...ids: string[]): PrerequisiteClauseSpec => ({ updateIds: ids, isCategory: false, atLeastOne: true });
const inCategory = (...ids: string[]): PrerequisiteClauseSpec => ({ updateIds: ids, isCategory: true });

function commandLine(program: string, args?: string): HandlerData {
  const h: HandlerData = {
    kind: 'commandLine',
    program,
    returnCodes: [
      { code: 0, result: 'Succeeded' },
      { code: 3010, result: 'Succeeded', reboot: true },
    ],
  };
  return args === undefined ? h : { ...h, arguments: args };
}

function leafProperties(type: UpdateType, files: readonly CatalogFile[], created: number, extra: Partial<PropertiesSpec> = {}): PropertiesSpec {
  return {
    updateType: type,
    defaultPropertiesLanguage: 'en',
    maxDownloadSize: files.reduce((n, f) => n + f.size, 0),
    minDownloadSize: 0,
    publicationState: 'Published',
    creationDate: iso(created),
    publisherId: PUBLISHER_MU,
    ...extra,
  };
}

function severity(rng: Rng): string {
  return rng.weighted([
    ['Critical', 35],
    ['Important', 50],
    ['Moderate', 10],
    ['Low', 5],
  ] as const);
}

function kbFor(line: LineDef, date: number): number {
  return 5_070_001 + (monthIndex(date) - monthIndex(CATALOG_END)) * 900 + line.kbOffset;
}

function supersededIds(seed: string, line: LineDef, s: number, firstIncluded: number): string[] {
  const ids: string[] = [];
  for (let k = 1; k <= line.supersedeDepth && s - k >= firstIncluded; k++) ids.push(unitTopId(seed, line, s - k));
  return ids;
}

/** A later revision of a spec: same content, newer number, and a note in the English description. */
export function revise(spec: UpdateSpec, revisionNumber: number, state: PublicationState, created: number, note?: string): UpdateSpec {
  const localized =
    note === undefined
      ? spec.localized
      : spec.localized.map((l) => (l.language === 'en' ? { ...l, description: l.description === undefined ? note : `${l.description} ${note}` } : l));
  return {
    ...spec,
    key: { updateId: spec.key.updateId, revisionNumber },
    properties: { ...spec.properties, publicationState: state, creationDate: iso(created) },
    localized,
  };
}

export function toDocument(role: DocumentRole, spec: UpdateSpec, files: readonly CatalogFile[], change?: ChangeKind): CatalogDocument {
  const doc = { key: spec.key, role, spec, xml: writeUpdateXml(spec), files };
  return change === undefined ? doc : { ...doc, change };
}

// ---------------------------------------------------------------------------------------------
// Categories and detectoids

export function categorySpec(ctx: Ctx, c: CategoryDef): UpdateSpec {
  const spec: UpdateSpec = {
    key: { updateId: c.id, revisionNumber: c.revision },
    properties: {
      updateType: 'Category',
      defaultPropertiesLanguage: 'en',
      isPublic: true,
      publicationState: 'Published',
      creationDate: c.created,
      publisherId: PUBLISHER_MU,
      ...(c.type === 'Product' ? { explicitlyDeployable: false, perUser: false } : {}),
    },
    localized: ctx.settings.languages.map((language) => {
      const title = (c.translate === true ? CLASSIFICATION_TITLES_LOCALIZED[language]?.[c.title] : undefined) ?? c.title;
      return { language, title, description: c.description ?? title };
    }),
    prerequisites: c.parent === undefined ? [] : [inCategory(c.parent)],
    applicability: { isInstalled: c.isInstalled ?? '<lar:True />' },
    category: {
      categoryType: c.type,
      prohibitsSubcategories: c.prohibitsSubcategories,
      prohibitsUpdates: c.prohibitsUpdates,
      ...(c.displayOrder === undefined ? {} : { displayOrder: c.displayOrder }),
      excludedByDefault: c.excludedByDefault ?? false,
    },
  };
  return spec;
}

export function detectoidSpec(d: DetectoidDef): UpdateSpec {
  return {
    key: { updateId: d.id, revisionNumber: 200 },
    properties: {
      updateType: 'Detectoid',
      defaultPropertiesLanguage: 'en',
      publicationState: 'Published',
      creationDate: d.created,
      publisherId: PUBLISHER_MU,
    },
    localized: english(d.title),
    prerequisites: d.prerequisites.map(direct),
    applicability: { isInstalled: d.isInstalled },
  };
}

// ---------------------------------------------------------------------------------------------
// Units

export interface BuiltUnit {
  readonly role: 'bundle' | 'standalone' | 'driver';
  /** First revision of the top document, published. */
  readonly top: UpdateSpec;
  readonly topFiles: readonly CatalogFile[];
  readonly children: readonly { readonly spec: UpdateSpec; readonly files: readonly CatalogFile[] }[];
}

interface UnitInput {
  readonly ctx: Ctx;
  readonly line: LineDef;
  readonly s: number;
  readonly date: number;
  readonly plan: UnitPlan;
  readonly firstIncluded: number;
  readonly rng: Rng;
}

function osVersionRules(line: LineDef) {
  const os = line.os;
  const arch = line.arch;
  if (os === undefined || arch === undefined) throw new Error(`line ${line.id} has no OS`);
  return rule.and(
    rule.bar('WindowsVersion', { Comparison: 'EqualTo', MajorVersion: 10, MinorVersion: 0, BuildNumber: os.build, ProductType: os.productType }),
    rule.bar('Processor', { Architecture: ARCH[arch].processor }),
  );
}

function ubrFor(date: number): number {
  return 2000 + (monthIndex(date) - 2020 * 12) * 50;
}

function cumulative(u: UnitInput, fx: boolean): BuiltUnit {
  const { ctx, line, s, date, plan, rng } = u;
  const seed = ctx.settings.seed;
  const os = line.os;
  const arch = line.arch as Arch;
  if (os === undefined) throw new Error(`line ${line.id} has no OS`);
  const kb = kbFor(line, date);
  const ym = yearMonth(date);
  const ubr = ubrFor(date);
  const a = ARCH[arch];
  const classification = fx && !rng.chance(0.7) ? CLASSIFICATIONS.updates : CLASSIFICATIONS.securityUpdates;
  const children: { spec: UpdateSpec; files: CatalogFile[] }[] = [];
  for (let i = 0; i < plan.children; i++) {
    let title: string;
    let fileName: string;
    let fileKey: string;
    if (fx) {
      const ndp = i === 0 ? 'ndp481' : 'ndp35';
      title = `${ym} .NET Framework ${i === 0 ? '4.8.1' : '3.5'} package for ${os.os} Version ${os.ver} for ${a.label} (KB${kb})`;
      fileName = `${os.nt}-kb${kb}-${a.file}-${ndp}.msu`;
      fileKey = `${ndp}:${os.codebase}:${arch}:${monthIndex(date)}`;
    } else if (i === 0) {
      title = `Package_for_RollupFix~31bf3856ad364e35~${a.fre.replace('fre', '')}~~${os.build}.${ubr}.1.5`;
      fileName = `${os.nt}-kb${kb}-${a.file}.msu`;
      fileKey = `cu:${os.codebase}:${arch}:${monthIndex(date)}`;
    } else {
      title = `${ym} Servicing Stack Update for ${os.os} Version ${os.ver} for ${a.label}-based Systems (KB${kb + 50})`;
      fileName = `ssu-${os.codebase.replace(/\D+/g, '')}.${ubr}-${a.file}.cab`;
      fileKey = `ssu:${os.codebase}:${arch}:${monthIndex(date)}`;
    }
    // Versions sharing a codebase (24H2/25H2) ship the very same file: one payload, several updates.
    const files = [ctx.files.file(fileKey, fileName, date - 5 * 86_400_000)];
    children.push({
      spec: {
        key: { updateId: unitChildId(seed, line, s, i), revisionNumber: line.firstRevision },
        properties: leafProperties('Software', files, date, {
          installationBehavior: { RebootBehavior: 'CanRequestReboot' },
          ...(fx ? {} : { uninstallationBehavior: { RebootBehavior: 'CanRequestReboot' } }),
        }),
        localized: english(title),
        prerequisites: [direct(line.detectoid as string), ...(fx ? [direct(DETECTOID.netfx481)] : []), anyOf(line.product)],
        applicability: {
          isInstalled: rule.and(
            rule.bar('WindowsVersion', { Comparison: 'EqualTo', MajorVersion: 10, MinorVersion: 0, BuildNumber: os.build }),
            rule.bar('RegDword', { Key: HKLM, Subkey: 'SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion', Value: 'UBR', Comparison: 'GreaterThanOrEqualTo', Data: ubr }),
          ),
          isInstallable: osVersionRules(line),
        },
        files,
        handlerData: commandLine(fileName, '/quiet /norestart'),
      },
      files,
    });
  }
  const titleTable = fx ? DOTNET_FX_TITLE : CU_TITLE;
  const text = { ym, os: os.os, ver: os.ver, arch: a.label, kb };
  const security = classification === CLASSIFICATIONS.securityUpdates;
  const top: UpdateSpec = {
    key: { updateId: unitTopId(seed, line, s), revisionNumber: line.firstRevision },
    properties: {
      updateType: 'Software',
      defaultPropertiesLanguage: 'en',
      autoSelectOnWebSites: true,
      explicitlyDeployable: true,
      ...(security ? { msrcSeverity: severity(rng) } : {}),
      maxDownloadSize: 0,
      minDownloadSize: 0,
      publicationState: 'Published',
      creationDate: iso(date),
      publisherId: PUBLISHER_MU,
      supportUrl: 'https://support.microsoft.com/help/' + kb,
      kbArticleId: String(kb),
    },
    localized: allLanguages(
      ctx,
      (l) => say(titleTable, l, text),
      (l) => say(FIX_DESCRIPTION, l, { product: fx ? '.NET Framework' : os.productName }),
      { moreInfoUrl: `https://support.microsoft.com/help/${kb}`, supportUrl: 'https://support.microsoft.com' },
    ),
    supersedes: supersededIds(seed, line, s, u.firstIncluded),
    prerequisites: [direct(line.detectoid as string), inCategory(line.product), inCategory(classification)],
    bundles: [{ atLeastOne: false, members: children.map((c) => c.spec.key) }],
  };
  return { role: 'bundle', top, topFiles: [], children };
}

function defenderVersion(s: number): string {
  return `1.${300 + Math.floor(s / 60)}.${(s % 60) * 9 + 3}.0`;
}

function defender(u: UnitInput): BuiltUnit {
  const { ctx, line, s, date, plan } = u;
  const seed = ctx.settings.seed;
  const version = defenderVersion(s);
  const archs: readonly Arch[] = ['x64', 'x86', 'arm64'];
  const children: { spec: UpdateSpec; files: CatalogFile[] }[] = [];
  const sigLocation = { Key: HKLM, Subkey: 'SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates', Value: 'SignatureLocation' };
  for (let i = 0; i < plan.children; i++) {
    const arch = archs[i % archs.length] as Arch;
    const files = [ctx.files.file(`def:${arch}:${s}`, 'AM_Delta.exe', date - 2 * 3_600_000)];
    children.push({
      spec: {
        key: { updateId: unitChildId(seed, line, s, i), revisionNumber: line.firstRevision },
        properties: leafProperties('Software', files, date, { installationBehavior: { Impact: 'Minor' }, publisherId: PUBLISHER_DEFENDER }),
        localized: english(`Full Deltas ${version} for Defender ${ARCH[arch].fre} [Ring0, Ring1, Ring2, Ring3, Ring4, Broad, Delayed]`),
        prerequisites: [direct(DETECTOID.defenderPlatform), direct(archDetectoidId(arch)), anyOf(CATEGORY.defender)],
        applicability: {
          isInstalled: rule.and(
            rule.not(rule.bar('RegDword', { ...sigLocation, Value: 'SignatureType', Comparison: 'EqualTo', Data: 1 })),
            rule.bar('FileVersionPrependRegSz', { Path: 'mpasdlta.vdm', Comparison: 'GreaterThanOrEqualTo', Version: version, ...sigLocation }),
          ),
          isInstallable: rule.and(
            rule.bar('Processor', { Architecture: ARCH[arch].processor }),
            rule.not(rule.bar('RegValueExists', { Key: HKLM, Subkey: 'SOFTWARE\\Microsoft\\Windows Defender\\Diagnostics\\BlockedVersions\\Signatures', Value: version, Type: 'REG_BINARY' })),
          ),
        },
        files,
        handlerData: commandLine('AM_Delta.exe', 'WD /q'),
      },
      files,
    });
  }
  const own = { atLeastOne: true, members: children.map((c) => c.spec.key) };
  // As on MU, a definition bundle also offers the previous package's deltas: leaves shared by bundles.
  const previous =
    s - 1 >= u.firstIncluded
      ? [{ atLeastOne: true, members: archs.map((_, i) => ({ updateId: unitChildId(seed, line, s - 1, i), revisionNumber: line.firstRevision })) }]
      : [];
  const top: UpdateSpec = {
    key: { updateId: unitTopId(seed, line, s), revisionNumber: line.firstRevision },
    properties: {
      updateType: 'Software',
      defaultPropertiesLanguage: 'en',
      autoSelectOnWebSites: true,
      explicitlyDeployable: true,
      maxDownloadSize: 0,
      minDownloadSize: 0,
      publicationState: 'Published',
      creationDate: iso(date),
      publisherId: PUBLISHER_DEFENDER,
      supportUrl: 'https://go.microsoft.com/fwlink/?LinkId=52661',
      kbArticleId: '2267602',
    },
    localized: allLanguages(
      ctx,
      (l) => say(DEFENDER_TITLE, l, { version }),
      (l) => say(DEFENDER_DESCRIPTION, l, {}),
      { moreInfoUrl: 'https://go.microsoft.com/fwlink/?linkid=2007160', supportUrl: 'https://go.microsoft.com/fwlink/?LinkId=52661' },
    ),
    supersedes: supersededIds(seed, line, s, u.firstIncluded),
    prerequisites: [direct(DETECTOID.defenderPlatform), inCategory(CLASSIFICATIONS.definitionUpdates), inCategory(CATEGORY.defender)],
    bundles: [own, ...previous],
  };
  return { role: 'bundle', top, topFiles: [], children };
}

interface StandaloneParts {
  readonly title: (language: string) => string;
  readonly description?: (language: string) => string;
  readonly classification: string;
  readonly products: readonly string[];
  readonly files: readonly { readonly key: string; readonly name: string }[];
  readonly program?: string;
  readonly args?: string;
  readonly kb?: number;
  readonly msrcSeverity?: string;
  readonly extra?: Partial<PropertiesSpec>;
  readonly isInstalled: RuleNode;
  readonly localizedUrls?: Partial<LocalizedProperties>;
}

function standalone(u: UnitInput, p: StandaloneParts, id = unitTopId(u.ctx.settings.seed, u.line, u.s)): BuiltUnit {
  const { ctx, line, s, date } = u;
  const files = p.files.map((f) => ctx.files.file(f.key, f.name, date - 3 * 86_400_000));
  const top: UpdateSpec = {
    key: { updateId: id, revisionNumber: line.firstRevision },
    properties: leafProperties('Software', files, date, {
      explicitlyDeployable: true,
      autoSelectOnWebSites: p.classification === CLASSIFICATIONS.securityUpdates || p.classification === CLASSIFICATIONS.criticalUpdates,
      ...(p.msrcSeverity === undefined ? {} : { msrcSeverity: p.msrcSeverity }),
      installationBehavior: { RebootBehavior: 'CanRequestReboot' },
      ...(p.kb === undefined ? {} : { supportUrl: `https://support.microsoft.com/help/${p.kb}`, kbArticleId: String(p.kb) }),
      ...p.extra,
    }),
    localized: allLanguages(ctx, p.title, p.description, p.localizedUrls),
    supersedes: supersededIds(ctx.settings.seed, line, s, u.firstIncluded),
    prerequisites: [direct(line.detectoid as string), inCategory(...p.products), inCategory(p.classification)],
    applicability: { isInstalled: p.isInstalled, isInstallable: rule.bar('Processor', { Architecture: ARCH[line.arch ?? 'x64'].processor }) },
    files,
    handlerData: commandLine(p.program ?? (files[0] as CatalogFile).fileName, p.args ?? '/quiet /norestart'),
  };
  return { role: 'standalone', top, topFiles: files, children: [] };
}

const fileVersionAtLeast = (path: string, version: string) =>
  rule.and(rule.bar('FileVersion', { Csidl: 38, Path: path, Comparison: 'GreaterThanOrEqualTo', Version: version }));

function sinceSlot(line: LineDef): number {
  return slotAround(line.cadence, line.since);
}

function office(u: UnitInput): BuiltUnit {
  const { line, s, date, rng } = u;
  const bits = line.bits ?? 64;
  const n = s - sinceSlot(line) + 1;
  if (line.product === CATEGORY.m365Apps) {
    const version = 1900 + Math.floor(n / 12) * 100 + (n % 12) + 1;
    const build = `${11000 + n * 120}.${20000 + ((n * 37) % 300)}`;
    const title = `Microsoft 365 Apps Update - Current Channel Version ${version} for ${bits === 64 ? 'x64' : 'x86'} based Edition (Build ${build})`;
    return standalone(u, {
      title: () => title,
      classification: CLASSIFICATIONS.updates,
      products: [line.product],
      files: [{ key: `m365:${bits}:${s}`, name: `officec2rclient-${build}-x${bits === 64 ? '64' : '86'}.exe` }],
      isInstalled: fileVersionAtLeast('Microsoft Office\\root\\Office16\\OfficeC2RClient.exe', `16.0.${build}`),
    });
  }
  const kb = kbFor(line, date);
  const security = rng.chance(0.6);
  const component = rng.pick(['mso', 'word', 'excel', 'outlook', 'msores', 'powerpoint', 'vbe7', 'ace'] as const);
  return standalone(u, {
    title: (l) => say(OFFICE_TITLE, l, { product: line.productTitle, kb, bits, security }),
    description: (l) => say(FIX_DESCRIPTION, l, { product: line.productTitle }),
    classification: security ? CLASSIFICATIONS.securityUpdates : CLASSIFICATIONS.criticalUpdates,
    products: [line.product],
    files: [{ key: `office:${line.id}:${s}`, name: `${component}2016-kb${kb}-fullfile-x${bits === 64 ? '64' : '86'}-glb.exe` }],
    kb,
    ...(security ? { msrcSeverity: severity(rng) } : {}),
    extra: { uninstallationBehavior: {} },
    isInstalled: fileVersionAtLeast(`Microsoft Office\\root\\vfs\\ProgramFilesCommonX${bits === 64 ? '64' : '86'}\\Microsoft Shared\\Office16\\${component}.dll`, `16.0.${5000 + n}.1000`),
  });
}

function msrt(u: UnitInput): BuiltUnit {
  const { line, date } = u;
  const arch = line.arch ?? 'x64';
  const version = `5.${130 + monthIndex(date) - monthIndex(Date.UTC(2024, 11, 1))}`;
  const archLabel = arch === 'x64' ? 'x64' : '';
  return standalone(u, {
    title: (l) => say(MSRT_TITLE, l, { arch: archLabel, version }).replace(/  /g, ' '),
    description: (l) => say(MSRT_DESCRIPTION, l, {}),
    classification: CLASSIFICATIONS.updateRollups,
    // MSRT applies to every Windows product: one clause naming several categories.
    products: [CATEGORY.windows11, CATEGORY.windows10Later, CATEGORY.server2022, CATEGORY.server2025],
    files: [{ key: `msrt:${arch}:${monthIndex(date)}`, name: `Windows-KB890830-${ARCH[arch].file}-V${version}.exe` }],
    kb: 890830,
    args: '/Q',
    isInstalled: rule.and(rule.bar('RegSz', { Key: HKLM, Subkey: 'SOFTWARE\\Microsoft\\RemovalTools\\MRT', Value: 'Version', Comparison: 'EqualTo', Data: version })),
  });
}

function sql(u: UnitInput): BuiltUnit {
  const { line, s, date, rng } = u;
  const kb = kbFor(line, date);
  const cu = s - sinceSlot(line) + 1;
  const year = line.productTitle.replace('SQL Server ', '');
  const security = rng.chance(0.3);
  const title = security ? `Security Update for SQL Server ${year} CU${cu} (KB${kb})` : `Cumulative Update ${cu} for SQL Server ${year} (KB${kb})`;
  return standalone(u, {
    title: () => title,
    description: (l) => say(FIX_DESCRIPTION, l, { product: line.productTitle }),
    classification: security ? CLASSIFICATIONS.securityUpdates : CLASSIFICATIONS.updates,
    products: [line.product],
    files: [{ key: `sql:${line.id}:${s}`, name: `SQLServer${year}-KB${kb}-x64.exe` }],
    kb,
    ...(security ? { msrcSeverity: 'Important' } : {}),
    args: '/quiet /IAcceptSQLServerLicenseTerms /Action=Patch /AllInstances',
    isInstalled: fileVersionAtLeast(`Microsoft SQL Server\\MSSQL${year === '2022' ? 16 : 15}.MSSQLSERVER\\MSSQL\\Binn\\sqlservr.exe`, `20${year.slice(2)}.${150 + cu}.${4000 + cu * 25}.0`),
  });
}

function dotnet(u: UnitInput): BuiltUnit {
  const { line, s, date } = u;
  const kb = kbFor(line, date);
  const major = line.productTitle.replace('.NET ', '').replace('.0', '');
  const version = `${major}.0.${s - sinceSlot(line) + 1}`;
  const title = `${yearMonth(date)} .NET ${version} Security Update for x64 Client (KB${kb})`;
  return standalone(u, {
    title: () => title,
    description: (l) => say(FIX_DESCRIPTION, l, { product: line.productTitle }),
    classification: CLASSIFICATIONS.securityUpdates,
    products: [line.product],
    files: [{ key: `dotnet:${line.id}:${s}`, name: `windowsdesktop-runtime-${version}-win-x64.exe` }],
    kb,
    msrcSeverity: 'Important',
    isInstalled: rule.and(rule.bar('RegKeyExists', { Key: HKLM, Subkey: `SOFTWARE\\dotnet\\Setup\\InstalledVersions\\x64\\sharedfx\\Microsoft.NETCore.App\\${version}` })),
  });
}

function visualStudio(u: UnitInput): BuiltUnit {
  const { line, s, date, rng } = u;
  const kb = kbFor(line, date);
  const n = s - sinceSlot(line);
  const minor = Math.floor(n / 3);
  const patch = n % 3;
  const security = rng.chance(0.5);
  const title = `${security ? 'Security Update' : 'Update'} for Microsoft Visual Studio 2022 version 17.${minor} (KB${kb})`;
  return standalone(u, {
    title: () => title,
    description: (l) => say(FIX_DESCRIPTION, l, { product: 'Visual Studio 2022' }),
    classification: security ? CLASSIFICATIONS.securityUpdates : CLASSIFICATIONS.updates,
    products: [line.product],
    files: [{ key: `vs:${s}`, name: `vs_enterprise_17.${minor}.${patch}.exe` }],
    kb,
    ...(security ? { msrcSeverity: severity(rng) } : {}),
    args: 'update --quiet --norestart',
    isInstalled: fileVersionAtLeast('Microsoft Visual Studio\\2022\\Enterprise\\Common7\\IDE\\devenv.exe', `17.${minor}.${35000 + n * 10}.${patch}`),
  });
}

function upgrade(u: UnitInput): BuiltUnit {
  const { line, s, date } = u;
  const os = line.os;
  const arch = line.arch ?? 'x64';
  if (os === undefined) throw new Error(`line ${line.id} has no OS`);
  const ubr = ubrFor(date);
  const stamp = new Date(date).toISOString().slice(2, 10).replace(/-/g, '');
  const title = `${os.os}, version ${os.ver} ${ARCH[arch].label} ${yearMonth(date)}`;
  return standalone(u, {
    title: () => title,
    description: () => `Install the latest version of ${os.os}: ${os.os}, version ${os.ver}.`,
    classification: CLASSIFICATIONS.upgrades,
    products: [line.product],
    files: [
      { key: `upgrade:${line.id}:${s}:esd`, name: `${os.build}.${ubr}.${stamp}-1710.ge_release_svc_refresh_CLIENTBUSINESS_VOL_${ARCH[arch].fre}_en-us.esd` },
      { key: `upgrade:${line.id}:${s}:cab`, name: `${os.nt}-kb${kbFor(line, date)}-${ARCH[arch].file}.cab` },
    ],
    extra: {
      eulaId: Rng.of('eula', os.key).guid(),
      installationBehavior: { Impact: 'Normal', RebootBehavior: 'CanRequestReboot', CanRequestUserInput: 'false' },
    },
    isInstalled: rule.and(rule.bar('WindowsVersion', { Comparison: 'GreaterThanOrEqualTo', MajorVersion: 10, MinorVersion: 0, BuildNumber: os.build })),
  });
}

function driverUnit(
  ctx: Ctx,
  id: string,
  revision: number,
  model: DriverModel,
  arch: Arch,
  product: string,
  detectoid: string,
  date: number,
  groupKey: string,
  groupDate: number,
  variant: number,
  rng: Rng,
): BuiltUnit {
  const g = Rng.of(ctx.settings.seed, 'driver-group', groupKey);
  const version = `${g.int(10, 32)}.${g.int(0, 9)}.${g.int(100, 9999)}.${g.int(0, 999)}`;
  const slug = model.company.toLowerCase().replace(/[^a-z0-9]+/g, '');
  const files = [ctx.files.file(`drv:${groupKey}`, `${slug}_${model.driverClass.toLowerCase()}_${version}.cab`, groupDate)];
  const hardwareId = variant === 0 ? model.hwid : `${model.hwid}&REV_${String(variant).padStart(2, '0')}`;
  const targeted = rng.chance(0.3);
  const top: UpdateSpec = {
    key: { updateId: id, revisionNumber: revision },
    properties: leafProperties('Driver', files, date, { explicitlyDeployable: true, installationBehavior: { RebootBehavior: 'CanRequestReboot' } }),
    localized: english(`${model.vendor} - ${model.driverClass} - ${version}`, `${model.vendor} ${model.driverClass} driver update released in ${yearMonth(groupDate)}`),
    prerequisites: [direct(detectoid), inCategory(product), inCategory(CLASSIFICATIONS.drivers)],
    applicability: {
      isInstalled: rule.element('drv', 'WindowsDriverInstalled'),
      isInstallable: rule.element('drv', 'WindowsDriverInstallable'),
    },
    drivers: [
      {
        hardwareId,
        whqlDriverId: String(g.int(10_000_000, 99_999_999)),
        manufacturer: model.vendor,
        company: model.company,
        provider: model.company,
        driverVerDate: new Date(groupDate).toISOString().slice(0, 10),
        driverVerVersion: version,
        driverClass: model.driverClass,
        computerHardwareIds: targeted ? [rng.guid(), rng.guid()] : [],
        featureScores: [{ operatingSystem: `${arch === 'arm64' ? 'ARM64' : 'AMD64'}.10.0`, featureScore: 'FF' }],
      },
    ],
    files,
    handlerData: { kind: 'driver' },
  };
  return { role: 'driver', top, topFiles: files, children: [] };
}

/** Builds unit `s` of `line`; `firstIncluded` is the line's oldest slot in the catalog. */
export function buildUnit(ctx: Ctx, line: LineDef, s: number, firstIncluded: number, fresh = false): { built: BuiltUnit; plan: UnitPlan; date: number } {
  const seed = ctx.settings.seed;
  const date = lineSlotDate(seed, line, s);
  const plan = planUnit(seed, line, s, fresh);
  const u: UnitInput = { ctx, line, s, date, plan, firstIncluded, rng: Rng.of(seed, 'detail', line.id, s) };
  let built: BuiltUnit;
  switch (line.kind) {
    case 'cu':
      built = cumulative(u, false);
      break;
    case 'dotnetfx':
      built = cumulative(u, true);
      break;
    case 'defender':
      built = defender(u);
      break;
    case 'office':
      built = office(u);
      break;
    case 'msrt':
      built = msrt(u);
      break;
    case 'sql':
      built = sql(u);
      break;
    case 'dotnet':
      built = dotnet(u);
      break;
    case 'vs':
      built = visualStudio(u);
      break;
    case 'upgrade':
      built = upgrade(u);
      break;
    case 'driver': {
      const model = line.driver as DriverModel;
      const group = Math.floor(s / 3);
      built = driverUnit(
        ctx,
        unitTopId(seed, line, s),
        line.firstRevision,
        model,
        line.arch ?? 'x64',
        line.product,
        line.detectoid as string,
        date,
        `${line.id}:${group}`,
        lineSlotDate(seed, line, group * 3),
        s % 3,
        u.rng,
      );
      break;
    }
  }
  return { built, plan, date };
}

/** A filler driver of the bulk stream: one document, dated by the planner. */
export function buildBulkDriver(ctx: Ctx, j: number, date: number, dateOf: (j: number) => number): BuiltUnit {
  const seed = ctx.settings.seed;
  const models = BULK_DRIVER_MODELS.length;
  const model = BULK_DRIVER_MODELS[j % models] as DriverModel;
  // Four drivers of one model in a row share a package (one file, one version), each for another device.
  const group = Math.floor(j / (models * 4));
  const groupDate = dateOf(group * models * 4 + (j % models));
  return driverUnit(
    ctx,
    guidOf(seed, 'id', 'bulk-driver', j),
    200,
    model,
    'x64',
    CATEGORY.windows11Drivers,
    DETECTOID.x64,
    date,
    `bulk:${j % BULK_DRIVER_MODELS.length}:${group}`,
    groupDate,
    Math.floor(j / BULK_DRIVER_MODELS.length) % 4,
    Rng.of(seed, 'detail', 'bulk-driver', j),
  );
}

/** The documents of a base-catalog unit: children, then each revision of the top, then its expiry. */
export function* unitDocuments(ctx: Ctx, line: LineDef, s: number, firstIncluded: number): Generator<CatalogDocument> {
  const { built, plan, date } = buildUnit(ctx, line, s, firstIncluded);
  for (const c of built.children) yield toDocument('bundled-leaf', c.spec, c.files);
  yield toDocument(built.role, built.top, built.topFiles);
  const first = line.firstRevision;
  for (let i = 1; i < plan.revisions; i++) {
    yield toDocument(built.role, revise(built.top, first + i, 'Published', date + i * 3 * 86_400_000, `Revision ${i}: metadata was corrected.`), built.topFiles);
  }
  if (plan.expired) {
    const last = plan.revisions - 1;
    const base = last === 0 ? built.top : revise(built.top, first + last, 'Published', date + last * 3 * 86_400_000, `Revision ${last}: metadata was corrected.`);
    yield toDocument(built.role, revise(base, first + plan.revisions, 'Expired', date + plan.revisions * 3 * 86_400_000), built.topFiles);
  }
}

/** The number of the newest revision a base unit has, expiry included. */
export function latestBaseRevision(line: LineDef, plan: UnitPlan): number {
  return line.firstRevision + plan.revisions - 1 + (plan.expired ? 1 : 0);
}
