// The structure of a SOAP answer, for comparing ours with a real WSUS's: element names and order,
// with values left out (anchors, cookies, ids, times legitimately differ) and each run of sibling
// elements of one shape written once with `+` (lists differ in length with the catalog, but an
// empty list stays empty, and the shape of an item stays its shape).
import { childElements, parseXml, textContent, type XmlElement } from '../../src/xml/index.ts';

function shapeLines(element: XmlElement, depth: number): string[] {
  const children = childElements(element);
  const head = `${'  '.repeat(depth)}${element.local}`;
  if (children.length === 0) return [head];
  const out = [head];
  let previous: string | undefined;
  for (const child of children) {
    const lines = shapeLines(child, depth + 1);
    const key = lines.join('\n');
    if (key === previous) continue;
    previous = key;
    lines[0] = `${lines[0]}+`;
    out.push(...lines);
  }
  return out;
}

/** One line per element shape, indented by depth, from the Envelope down. */
export function xmlShape(xml: string | Buffer): string[] {
  const text = typeof xml === 'string' ? xml : xml.toString('utf8');
  return shapeLines(parseXml(text).root, 0);
}

export function parseAnswer(xml: string | Buffer): XmlElement {
  const text = typeof xml === 'string' ? xml : xml.toString('utf8');
  return parseXml(text).root;
}

/** The first element at a path of local names below `root` (`Body/GetCookieResponse/…`). */
export function at(root: XmlElement, path: string): XmlElement | undefined {
  let node: XmlElement | undefined = root;
  for (const name of path.split('/')) {
    node = node === undefined ? undefined : childElements(node).find((c) => c.local === name);
  }
  return node;
}

export function textAt(root: XmlElement, path: string): string | undefined {
  const node = at(root, path);
  return node === undefined ? undefined : textContent(node);
}

export function elementsAt(root: XmlElement, path: string): XmlElement[] {
  const node = at(root, path);
  return node === undefined ? [] : childElements(node);
}

/** `UpdateID/RevisionNumber` of a list of UpdateIdentity elements, lower-cased ids. */
export function identities(elements: readonly XmlElement[]): string[] {
  return elements.map((e) => `${textAt(e, 'UpdateID')!.toLowerCase()}/${textAt(e, 'RevisionNumber')}`);
}
