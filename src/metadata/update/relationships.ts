// `upd:Relationships` (WSUS-PROTOCOLS §3.5): prerequisites in conjunctive normal form, bundled
// children by revision, superseded update ids.

import type { BundleGroup, PrerequisiteClause, RevisionKey } from '../../domain/update.ts';
import { attribute, type XmlElement } from '../../xml/index.ts';
import { UPD } from './document.ts';
import { boolean, guid, revisionNumber } from './values.ts';

export interface Relationships {
  readonly prerequisites: readonly PrerequisiteClause[];
  readonly bundles: readonly BundleGroup[];
  readonly supersedes: readonly string[];
}

const NONE: Relationships = { prerequisites: [], bundles: [], supersedes: [] };

function identities(parent: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of parent.children) {
    if (c.type === 'element' && c.uri === UPD && c.local === 'UpdateIdentity') out.push(c);
  }
  return out;
}

function updateId(identity: XmlElement, where: string): string {
  return guid(attribute(identity, 'UpdateID'), `${where}/UpdateIdentity/@UpdateID`);
}

function revisionKey(identity: XmlElement, where: string): RevisionKey {
  return {
    updateId: updateId(identity, where),
    revisionNumber: revisionNumber(
      attribute(identity, 'RevisionNumber'),
      `${where}/UpdateIdentity/@RevisionNumber`,
    ),
  };
}

/** Each direct UpdateIdentity is a clause of one; each AtLeastOne an OR clause. Clauses are ANDed. */
function prerequisites(element: XmlElement): PrerequisiteClause[] {
  const where = 'Relationships/Prerequisites';
  const clauses: PrerequisiteClause[] = [];
  for (const c of element.children) {
    if (c.type !== 'element' || c.uri !== UPD) continue;
    if (c.local === 'UpdateIdentity') {
      clauses.push({ updateIds: [updateId(c, where)], isCategory: false });
    } else if (c.local === 'AtLeastOne') {
      clauses.push({
        updateIds: identities(c).map((i) => updateId(i, `${where}/AtLeastOne`)),
        isCategory: boolean(attribute(c, 'IsCategory'), `${where}/AtLeastOne/@IsCategory`, false),
      });
    }
  }
  return clauses;
}

/** Direct children form one all-of group, at the place of the first; each AtLeastOne is one group. */
function bundles(element: XmlElement): BundleGroup[] {
  const where = 'Relationships/BundledUpdates';
  const groups: BundleGroup[] = [];
  let direct: RevisionKey[] | undefined;
  for (const c of element.children) {
    if (c.type !== 'element' || c.uri !== UPD) continue;
    if (c.local === 'UpdateIdentity') {
      if (direct === undefined) {
        direct = [];
        groups.push({ members: direct, atLeastOne: false });
      }
      direct.push(revisionKey(c, where));
    } else if (c.local === 'AtLeastOne') {
      groups.push({ members: identities(c).map((i) => revisionKey(i, `${where}/AtLeastOne`)), atLeastOne: true });
    }
  }
  return groups;
}

export function readRelationships(element: XmlElement | undefined): Relationships {
  if (element === undefined) return NONE;
  let prereqs: PrerequisiteClause[] = [];
  let bundled: BundleGroup[] = [];
  let supersedes: string[] = [];
  for (const c of element.children) {
    if (c.type !== 'element' || c.uri !== UPD) continue;
    if (c.local === 'Prerequisites') prereqs = prereqs.concat(prerequisites(c));
    else if (c.local === 'BundledUpdates') bundled = bundled.concat(bundles(c));
    else if (c.local === 'SupersededUpdates') {
      supersedes = supersedes.concat(identities(c).map((i) => updateId(i, 'Relationships/SupersededUpdates')));
    }
  }
  return { prerequisites: prereqs, bundles: bundled, supersedes };
}
