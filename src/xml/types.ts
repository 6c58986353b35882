// The lightweight tree the reader builds. Plain data: no methods, no parent links, so trees are
// cheap to build, safe to share and trivially serializable.

/** Namespace of `xml:` attributes (bound without a declaration). */
export const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';
/** Namespace of namespace declarations themselves (`xmlns`, `xmlns:p`). */
export const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/';

export interface XmlAttribute {
  /** Qualified name as written (`xsi:type`). */
  readonly name: string;
  /** `''` when the attribute has no prefix. */
  readonly prefix: string;
  readonly local: string;
  /** Resolved namespace; `''` for unprefixed attributes, which are in no namespace. */
  readonly uri: string;
  /** Decoded and normalized value (entities expanded, whitespace characters mapped to spaces). */
  readonly value: string;
}

/**
 * A namespace declaration (`xmlns="…"` or `xmlns:p="…"`). Kept apart from `attributes` because it
 * is not an attribute in the namespace data model, but recorded with its position so a writer can
 * reproduce the start tag in its original order.
 */
export interface XmlNamespaceDeclaration {
  /** `''` for the default namespace. */
  readonly prefix: string;
  /** `''` undeclares the default namespace. */
  readonly uri: string;
  /** How many ordinary attributes precede this declaration in the start tag. */
  readonly position: number;
}

export interface XmlText {
  readonly type: 'text';
  /** Decoded text; adjacent text and CDATA sections are merged into one node. */
  readonly value: string;
}

export interface XmlElement {
  readonly type: 'element';
  /** Qualified name as written (`upd:Update`). */
  readonly name: string;
  readonly prefix: string;
  readonly local: string;
  /** Resolved namespace, `''` when the element is in no namespace. */
  readonly uri: string;
  /** In document order, namespace declarations excluded. */
  readonly attributes: readonly XmlAttribute[];
  /** Declarations written on this element's start tag, in document order. */
  readonly namespaces: readonly XmlNamespaceDeclaration[];
  readonly children: readonly XmlNode[];
  /** Written as `<a/>` rather than `<a></a>`. */
  readonly selfClosing: boolean;
  /** Offset of the `<` that starts the element in the input. */
  readonly start: number;
  /** Offset just past the `>` that ends the element. */
  readonly end: number;
}

export type XmlNode = XmlElement | XmlText;

export interface XmlDocument {
  readonly root: XmlElement;
}
