// Parsing an update document and locating its top-level parts (WSUS-PROTOCOLS §3.2). Shared by the
// record parser and the fragment derivation so that ingest parses once.

import { NAMESPACES } from '../../domain/wellknown.ts';
import { XmlError, parseXml, type XmlDocument, type XmlElement, type XmlLimits } from '../../xml/index.ts';
import { UpdateDocumentError } from './errors.ts';

export const UPD = NAMESPACES.upd;

export interface UpdateDocumentOptions {
  /** XML reader limits; the defaults admit the largest real documents. */
  readonly limits?: Partial<XmlLimits>;
}

/** Parses XML text, reporting malformed input as an UpdateDocumentError that carries the XmlError. */
export function parseUpdateXml(xml: string, options?: UpdateDocumentOptions): XmlDocument {
  try {
    return parseXml(xml, options?.limits === undefined ? undefined : { limits: options.limits });
  } catch (error) {
    if (error instanceof XmlError) {
      throw new UpdateDocumentError(`update document is not well-formed XML: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

export interface UpdateSections {
  readonly root: XmlElement;
  readonly identity: XmlElement;
  readonly properties: XmlElement;
  readonly localizedCollection?: XmlElement;
  readonly relationships?: XmlElement;
  readonly applicabilityRules?: XmlElement;
  readonly files?: XmlElement;
  readonly handlerSpecificData?: XmlElement;
}

/** The parts of `upd:Update`, matched by namespace and local name; the first of each counts. */
export function updateSections(root: XmlElement): UpdateSections {
  if (root.local !== 'Update' || root.uri !== UPD) {
    const ns = root.uri === '' ? 'no namespace' : `namespace ${root.uri}`;
    throw new UpdateDocumentError(
      `not an update document: the root element is <${root.name}> in ${ns}; expected Update in namespace ${UPD}`,
    );
  }
  let identity: XmlElement | undefined;
  let properties: XmlElement | undefined;
  const found: { -readonly [K in keyof UpdateSections]?: UpdateSections[K] } = {};
  for (const child of root.children) {
    if (child.type !== 'element' || child.uri !== UPD) continue;
    switch (child.local) {
      case 'UpdateIdentity':
        identity ??= child;
        break;
      case 'Properties':
        properties ??= child;
        break;
      case 'LocalizedPropertiesCollection':
        found.localizedCollection ??= child;
        break;
      case 'Relationships':
        found.relationships ??= child;
        break;
      case 'ApplicabilityRules':
        found.applicabilityRules ??= child;
        break;
      case 'Files':
        found.files ??= child;
        break;
      case 'HandlerSpecificData':
        found.handlerSpecificData ??= child;
        break;
    }
  }
  if (identity === undefined) {
    throw new UpdateDocumentError(`update document has no UpdateIdentity element (namespace ${UPD}) under Update`);
  }
  if (properties === undefined) {
    throw new UpdateDocumentError(`update document has no Properties element (namespace ${UPD}) under Update`);
  }
  return { root, identity, properties, ...found };
}
