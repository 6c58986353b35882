// Update metadata documents (WSUS-PROTOCOLS §3) to UpdateRecords, and the one-parse ingest that
// also derives the client fragments. Namespace-aware throughout: elements are matched on namespace
// URI + local name, so any choice of prefixes (or a default namespace) reads the same.

import type { Fragments, UpdateRecord } from '../domain/update.ts';
import { NAMESPACES } from '../domain/wellknown.ts';
import { attribute, type XmlDocument, type XmlElement } from '../xml/index.ts';
import { fragmentsFromSections } from './fragments.ts';
import { parseUpdateXml, updateSections, type UpdateDocumentOptions, type UpdateSections } from './update/document.ts';
import { readCategory, readDrivers, readFiles, readLocalized } from './update/parts.ts';
import { readProperties } from './update/properties.ts';
import { readRelationships } from './update/relationships.ts';
import { guid, revisionNumber } from './update/values.ts';

export { UpdateDocumentError } from './update/errors.ts';
export type { UpdateDocumentOptions as ParseUpdateOptions } from './update/document.ts';

/** The record of a parsed document; `xml` must be the text it was parsed from. */
export function recordFromSections(sections: UpdateSections, xml: string): UpdateRecord {
  const { identity, handlerSpecificData } = sections;
  const relationships = readRelationships(sections.relationships);
  const category = readCategory(handlerSpecificData);
  const handlerType =
    handlerSpecificData === undefined ? undefined : attribute(handlerSpecificData, 'type', NAMESPACES.xsi);
  return {
    key: {
      updateId: guid(attribute(identity, 'UpdateID'), 'UpdateIdentity/@UpdateID'),
      revisionNumber: revisionNumber(attribute(identity, 'RevisionNumber'), 'UpdateIdentity/@RevisionNumber'),
    },
    properties: readProperties(sections.properties),
    localized: readLocalized(sections.localizedCollection),
    prerequisites: relationships.prerequisites,
    bundles: relationships.bundles,
    supersedes: relationships.supersedes,
    files: readFiles(sections.files),
    ...(category !== undefined && { category }),
    drivers: readDrivers(sections.applicabilityRules),
    ...(handlerType !== undefined && { handlerType }),
    xml,
  };
}

/** Parses one update document. Throws UpdateDocumentError naming what to fix. */
export function parseUpdate(xml: string, options?: UpdateDocumentOptions): UpdateRecord {
  return recordFromSections(updateSections(parseUpdateXml(xml, options).root), xml);
}

/** A record from an already parsed document; `xml` is the text it came from, kept verbatim. */
export function readUpdate(document: XmlDocument | XmlElement, xml: string): UpdateRecord {
  return recordFromSections(updateSections('root' in document ? document.root : document), xml);
}

export interface IngestedUpdate {
  readonly record: UpdateRecord;
  readonly fragments: Fragments;
}

/** What sync stores for a document: its record and its fragments, from a single parse. */
export function ingestUpdate(xml: string, options?: UpdateDocumentOptions): IngestedUpdate {
  const sections = updateSections(parseUpdateXml(xml, options).root);
  return { record: recordFromSections(sections, xml), fragments: fragmentsFromSections(sections) };
}
