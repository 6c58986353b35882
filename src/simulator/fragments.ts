// What the agent reads out of the fragments it receives (WSUS-PROTOCOLS §4.5): from Core the
// identity, the type and the relationships (prerequisite clauses and bundled updates, by
// UpdateID); from Extended the files with their digests; from LocalizedProperties the title.
// Fragments are concatenated elements without a root or namespace declarations, so they are
// parsed as fragments; only the parts needed are parsed, applicability rules are skipped.
import { attribute, childElements, findChild, parseXmlFragment, textContent, type XmlElement } from '../xml/index.ts';

export interface CoreInfo {
  readonly updateId: string;
  readonly revisionNumber: number;
  /** Software, Driver, Category, Detectoid. */
  readonly updateType: string;
  /** Prerequisite clauses in CNF, each a list of UpdateIDs (lower case). */
  readonly prerequisites: readonly (readonly string[])[];
  /** Whether the clause is the `IsCategory` one (product / classification). */
  readonly categoryClauses: readonly boolean[];
  /** UpdateIDs this bundle carries (lower case). */
  readonly bundled: readonly string[];
}

export interface FileInfo {
  /** SHA-1, base64. */
  readonly sha1: string;
  readonly sha256: string | undefined;
  readonly fileName: string;
  readonly size: number;
}

const IDENTITY = /<UpdateIdentity\s+UpdateID="([^"]+)"(?:\s+RevisionNumber="(\d+)")?/;
const UPDATE_TYPE = /<Properties\b[^>]*\bUpdateType="([^"]+)"/;

function section(xml: string, name: string): XmlElement | undefined {
  const start = xml.indexOf(`<${name}>`);
  if (start < 0) return undefined;
  const close = `</${name}>`;
  const end = xml.indexOf(close, start);
  if (end < 0) throw new Error(`Core fragment: <${name}> is not closed`);
  return parseXmlFragment(xml.slice(start, end + close.length))[0];
}

function identityOf(e: XmlElement): string {
  const id = attribute(e, 'UpdateID');
  if (id === undefined) throw new Error('Core fragment: UpdateIdentity without UpdateID');
  return id.toLowerCase();
}

export function readCore(xml: string): CoreInfo {
  const identity = IDENTITY.exec(xml);
  if (identity === null) throw new Error('Core fragment without UpdateIdentity');
  const type = UPDATE_TYPE.exec(xml)?.[1] ?? 'Software';
  const prerequisites: string[][] = [];
  const categoryClauses: boolean[] = [];
  const bundled: string[] = [];
  const relationships = section(xml, 'Relationships');
  if (relationships !== undefined) {
    const pre = findChild(relationships, 'Prerequisites');
    for (const clause of pre === undefined ? [] : childElements(pre)) {
      if (clause.local === 'UpdateIdentity') {
        prerequisites.push([identityOf(clause)]);
        categoryClauses.push(false);
      } else if (clause.local === 'AtLeastOne') {
        prerequisites.push(childElements(clause).filter((e) => e.local === 'UpdateIdentity').map(identityOf));
        categoryClauses.push(attribute(clause, 'IsCategory') === 'true');
      }
    }
    const bundle = findChild(relationships, 'BundledUpdates');
    for (const group of bundle === undefined ? [] : childElements(bundle)) {
      if (group.local === 'UpdateIdentity') bundled.push(identityOf(group));
      else for (const e of childElements(group)) if (e.local === 'UpdateIdentity') bundled.push(identityOf(e));
    }
  }
  return {
    updateId: identity[1]!.toLowerCase(),
    revisionNumber: Number(identity[2] ?? 0),
    updateType: type,
    prerequisites,
    categoryClauses,
    bundled,
  };
}

/** The files of an Extended fragment; [] when it has none. */
export function readExtendedFiles(xml: string): FileInfo[] {
  const files = section(xml, 'Files');
  if (files === undefined) return [];
  return childElements(files)
    .filter((f) => f.local === 'File')
    .map((f) => {
      const sha256 = childElements(f).find((d) => d.local === 'AdditionalDigest' && attribute(d, 'Algorithm') === 'SHA256');
      return {
        sha1: attribute(f, 'Digest') ?? '',
        sha256: sha256 === undefined ? undefined : textContent(sha256).trim(),
        fileName: attribute(f, 'FileName') ?? '',
        size: Number(attribute(f, 'Size') ?? 0),
      };
    });
}

/** `{ language, title }` of a LocalizedProperties fragment. */
export function readLocalized(xml: string): { language: string; title: string } | undefined {
  const e = parseXmlFragment(xml).find((x) => x.local === 'LocalizedProperties');
  if (e === undefined) return undefined;
  const language = findChild(e, 'Language');
  const title = findChild(e, 'Title');
  return { language: language === undefined ? '' : textContent(language).trim(), title: title === undefined ? '' : textContent(title) };
}

/** Which fragment an Extended-or-Localized `Update/Xml` is. */
export function fragmentKind(xml: string): 'extended' | 'localized' | 'other' {
  const head = xml.trimStart();
  if (head.startsWith('<LocalizedProperties')) return 'localized';
  if (head.startsWith('<ExtendedProperties') || head.includes('<Files>') || head.includes('<HandlerSpecificData')) return 'extended';
  return 'other';
}
