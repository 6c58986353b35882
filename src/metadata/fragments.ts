// The fragments a real WSUS serves to clients (WSUS-PROTOCOLS §4.5), derived once at ingest so
// scans never parse XML. Byte-for-byte what the real server sent in fixtures wusp-reference/
// (and the CBS / OS installer fragments in wsus-m0-cbs/):
// - Core = UpdateIdentity + Properties reduced + Relationships + ApplicabilityRules.
//   The reduced Properties is rebuilt, not copied: attributes in the fixed order UpdateType,
//   ExplicitlyDeployable, AutoSelectOnWebSites, EulaID, OSUpgrade, those at their default
//   (false, absent) left out, no children, always `<Properties … />`. The real core of
//   a2fef9b0…@200 reads `UpdateType="Software" ExplicitlyDeployable="true"
//   AutoSelectOnWebSites="true"` although its document has AutoSelectOnWebSites first.
// - Extended = Properties renamed ExtendedProperties, minus the attributes listed below, in
//   document order, children kept (`<ExtendedProperties … />` when none) + Files +
//   HandlerSpecificData.
// - Localized = one LocalizedProperties block per language, keyed by the lower-cased language.
// Elements are written by fragment-xml.ts's rules (b./m./d. names, no prefixes, no xmlns:p).

import type { Fragments } from '../domain/update.ts';
import { escapeAttribute, type XmlDocument, type XmlElement } from '../xml/index.ts';
import { parseUpdateXml, updateSections, type UpdateDocumentOptions, type UpdateSections } from './update/document.ts';
import { fragmentAttributes, fragmentContent, fragmentElement } from './update/fragment-xml.ts';
import { localizedBlocks, localizedLanguage } from './update/parts.ts';
import { readCoreProperties } from './update/properties.ts';

const NOT_IN_EXTENDED: ReadonlySet<string> = new Set([
  'UpdateType',
  'ExplicitlyDeployable',
  'AutoSelectOnWebSites',
  'EulaID',
  'PublicationState',
  'PublisherID',
  'CreationDate',
  'IsPublic',
  'LegacyName',
  'DetectoidType',
  'OSUpgrade',
  'PerUser',
]);

function coreProperties(properties: XmlElement): string {
  const p = readCoreProperties(properties);
  let out = `<Properties UpdateType="${p.updateType}"`;
  if (p.explicitlyDeployable) out += ' ExplicitlyDeployable="true"';
  if (p.autoSelectOnWebSites) out += ' AutoSelectOnWebSites="true"';
  if (p.eulaId !== undefined) out += ` EulaID="${escapeAttribute(p.eulaId)}"`;
  if (p.osUpgrade !== undefined && !/^\s*(?:false|0)\s*$/i.test(p.osUpgrade)) {
    out += ` OSUpgrade="${escapeAttribute(p.osUpgrade)}"`;
  }
  return `${out} />`;
}

export function coreFragment(sections: UpdateSections): string {
  let out = fragmentElement(sections.identity) + coreProperties(sections.properties);
  if (sections.relationships !== undefined) out += fragmentElement(sections.relationships);
  if (sections.applicabilityRules !== undefined) out += fragmentElement(sections.applicabilityRules);
  return out;
}

export function extendedFragment(sections: UpdateSections): string {
  const attrs = fragmentAttributes(sections.properties, NOT_IN_EXTENDED);
  const content = fragmentContent(sections.properties);
  let out =
    content === ''
      ? `<ExtendedProperties${attrs} />`
      : `<ExtendedProperties${attrs}>${content}</ExtendedProperties>`;
  if (sections.files !== undefined) out += fragmentElement(sections.files);
  if (sections.handlerSpecificData !== undefined) out += fragmentElement(sections.handlerSpecificData);
  return out;
}

/** First block per language wins, as WSUS keeps one row per language. */
export function localizedFragments(sections: UpdateSections): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const block of localizedBlocks(sections.localizedCollection)) {
    const language = localizedLanguage(block);
    if (!Object.hasOwn(out, language)) out[language] = fragmentElement(block);
  }
  return out;
}

export function fragmentsFromSections(sections: UpdateSections): Fragments {
  return {
    core: coreFragment(sections),
    extended: extendedFragment(sections),
    localized: localizedFragments(sections),
  };
}

/**
 * Core, Extended and Localized fragments of an update document, given as text (parsed here) or as
 * an already parsed document or root element. Throws UpdateDocumentError.
 */
export function deriveFragments(
  input: string | XmlDocument | XmlElement,
  options?: UpdateDocumentOptions,
): Fragments {
  const root =
    typeof input === 'string' ? parseUpdateXml(input, options).root : 'root' in input ? input.root : input;
  return fragmentsFromSections(updateSections(root));
}
