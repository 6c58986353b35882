// One SyncUpdates answer (WSUS-PROTOCOLS §4.4, §4.7; MS-WUSP 2.2.2.2.4 and 3.1.5.7).
//
// Two steps with different lifetimes:
//
// 1. buildScanScope, once per catalog version and per set of effective approvals (one per distinct
//    combination of groups; the service caches it and rebuilds it when an approval or a sync
//    changes it): which revisions a computer may receive and with which Deployment Action.
//    - Approved updates with their effective action (Install, Uninstall, PreDeploymentCheck; Block
//      goes out as PreDeploymentCheck, which MS-WUSP says the server SHOULD do, or stays out).
//    - The updates approved bundles carry, as Bundle ("the client applies the same action as its
//      parent"), recursively; children of a bundle that is only there for evaluation are Evaluate.
//    - Every prerequisite alternative of all of these, recursively, as Evaluate ("not explicitly
//      deployed ... MUST be set to Evaluate").
//    - By default every category and detectoid too, as Evaluate: the real WSUS sent leaf
//      categories nothing requires (OOBE ZDP in fixtures wsus-m0-native/scan/000008; 199 leaf
//      categories and 3,433 leaf detectoids in wsus-m0-cbs/catalog-stats.json).
//    - Never drivers (the software pass excludes them; no driver matching yet) nor declined updates.
//    An explicit action wins over Bundle, which wins over Evaluate.
//
// 2. planSyncUpdates, per request, in O(what the client sent + what can be returned): the revisions
//    in scope whose every prerequisite clause has an alternative among InstalledNonLeafUpdateIDs and
//    that the client does not hold (NeededRevisions minus CachedRevisions), in pages; cached
//    revisions no longer needed (OutOfScopeRevisionIDs); cached, needed revisions whose deployment
//    changed after the cookie's watermark (ChangedUpdates).
//    Order within an answer: non-leaf revisions first (they unlock the next round), then bundles,
//    then leaves, each by ascending revision id, as the reference server orders them
//    (microsoft/update-server-server-sync ClientSync_Software.cs: roots, non-leaf, bundles, leaves).
//    Truncated is true exactly when deliverable revisions were left out of this page, so a full
//    last page says false, as the real WSUS did (WSUS-PROTOCOLS §4.4).
import type { EffectiveApproval } from './approval-rules.ts';
import { indexOfRevision, prerequisitesMet, TYPE_CODE, type CatalogGraph } from './prerequisite-graph.ts';

/** What the client is told to do with a revision (the Deployment Action on the wire). */
export type DeploymentAction = 'Install' | 'Uninstall' | 'PreDeploymentCheck' | 'Bundle' | 'Evaluate';

const NONE = 0;
const INSTALL = 1;
const UNINSTALL = 2;
const DETECT = 3;
const BUNDLE = 4;
const EVALUATE = 5;

const ACTION_NAMES: readonly DeploymentAction[] = ['Evaluate', 'Install', 'Uninstall', 'PreDeploymentCheck', 'Bundle', 'Evaluate'];

export interface ScanScope {
  readonly graph: CatalogGraph;
  /** Action code per graph index; 0 = out of scope. */
  readonly action: Uint8Array;
  /** The approval behind an explicit action, or behind the bundle that carries a Bundle child. */
  readonly origin: ReadonlyMap<number, EffectiveApproval>;
  /** In-scope revisions without prerequisites, ascending. */
  readonly roots: Int32Array;
  readonly size: number;
}

export interface ScopeOptions {
  /** Deliver every category and detectoid for evaluation, approved or not. Default true, as WSUS. */
  readonly evaluateAll?: boolean;
  /** Block on the wire: PreDeploymentCheck (MS-WUSP SHOULD, default) or left out (MAY). */
  readonly block?: 'PreDeploymentCheck' | 'omit';
}

function codeOf(e: EffectiveApproval, block: 'PreDeploymentCheck' | 'omit'): number {
  switch (e.action) {
    case 'Install':
      return INSTALL;
    case 'Uninstall':
      return UNINSTALL;
    case 'PreDeploymentCheck':
      return DETECT;
    case 'Block':
      return block === 'omit' ? NONE : DETECT;
  }
}

function scopeRoots(graph: CatalogGraph, action: Uint8Array): Int32Array {
  return graph.roots.filter((i) => action[i] !== NONE);
}

function countScope(action: Uint8Array): number {
  let n = 0;
  for (const a of action) if (a !== NONE) n++;
  return n;
}

/** The revisions a computer with these effective approvals may receive (see the top of the file). */
export function buildScanScope(
  graph: CatalogGraph,
  effective: ReadonlyMap<string, EffectiveApproval>,
  declined: ReadonlySet<string> = new Set(),
  options: ScopeOptions = {},
): ScanScope {
  const evaluateAll = options.evaluateAll ?? true;
  const block = options.block ?? 'PreDeploymentCheck';
  const { size, types, clauseStart, altStart, alts, childStart, children } = graph;
  const excluded = new Uint8Array(size);
  for (let i = 0; i < size; i++) if (types[i] === TYPE_CODE.Driver) excluded[i] = 1;
  for (const id of declined) {
    const i = graph.byUpdateId.get(id);
    if (i !== undefined) excluded[i] = 1;
  }

  const action = new Uint8Array(size);
  const origin = new Map<number, EffectiveApproval>();
  const queue: number[] = [];
  const seeds: [number, EffectiveApproval][] = [];
  for (const e of effective.values()) {
    const i = graph.byUpdateId.get(e.updateId);
    if (i !== undefined && excluded[i] === 0) seeds.push([i, e]);
  }
  seeds.sort((a, b) => a[0] - b[0]);
  for (const [i, e] of seeds) {
    const code = codeOf(e, block);
    if (code === NONE) continue;
    action[i] = code;
    origin.set(i, e);
    queue.push(i);
  }
  if (evaluateAll) {
    for (let i = 0; i < size; i++) {
      const t = types[i];
      if (action[i] === NONE && excluded[i] === 0 && (t === TYPE_CODE.Category || t === TYPE_CODE.Detectoid)) {
        action[i] = EVALUATE;
        queue.push(i);
      }
    }
  }

  for (let q = 0; q < queue.length; q++) {
    const i = queue[q]!;
    for (let a = altStart[clauseStart[i]!]!; a < altStart[clauseStart[i + 1]!]!; a++) {
      const j = alts[a]!;
      if (excluded[j] === 0 && action[j] === NONE) {
        action[j] = EVALUATE;
        queue.push(j);
      }
    }
    const carries = action[i] !== EVALUATE;
    for (let c = childStart[i]!; c < childStart[i + 1]!; c++) {
      const j = children[c]!;
      if (excluded[j] === 1) continue;
      // A child first reached as a mere prerequisite is upgraded (and walked again) once an
      // approved bundle turns out to carry it.
      if (action[j] === NONE || (carries && action[j] === EVALUATE)) {
        action[j] = carries ? BUNDLE : EVALUATE;
        if (carries) origin.set(j, origin.get(i)!);
        queue.push(j);
      }
    }
  }
  return { graph, action, origin, roots: scopeRoots(graph, action), size: countScope(action) };
}

/**
 * A category scan's scope (FilterCategoryIds: "the server MUST return only updates that are
 * related to these categories"): the listed categories, every in-scope revision whose
 * prerequisites lead to one of them, what those bundle, and everything they require. Costs
 * O(the related part of the graph); the service can keep it per (scope, filter).
 */
export function filterScanScope(scope: ScanScope, categoryIds: Iterable<string>): ScanScope {
  const { graph } = scope;
  const { size, dependentStart, dependents, clauseStart, altStart, alts, childStart, children } = graph;
  const related = new Uint8Array(size);
  const stack: number[] = [];
  for (const id of categoryIds) {
    const i = graph.byUpdateId.get(id.toLowerCase());
    if (i !== undefined && related[i] === 0) {
      related[i] = 1;
      stack.push(i);
    }
  }
  while (stack.length > 0) {
    const i = stack.pop()!;
    for (let d = dependentStart[i]!; d < dependentStart[i + 1]!; d++) {
      const j = dependents[d]!;
      if (related[j] === 0) {
        related[j] = 1;
        stack.push(j);
      }
    }
  }

  const action = new Uint8Array(size);
  const origin = new Map<number, EffectiveApproval>();
  const queue: number[] = [];
  const take = (i: number): void => {
    if (action[i] !== NONE || scope.action[i] === NONE) return;
    action[i] = scope.action[i]!;
    const e = scope.origin.get(i);
    if (e !== undefined) origin.set(i, e);
    queue.push(i);
  };
  for (let i = 0; i < size; i++) if (related[i] === 1) take(i);
  for (let q = 0; q < queue.length; q++) {
    const i = queue[q]!;
    for (let a = altStart[clauseStart[i]!]!; a < altStart[clauseStart[i + 1]!]!; a++) take(alts[a]!);
    for (let c = childStart[i]!; c < childStart[i + 1]!; c++) take(children[c]!);
  }
  return { graph, action, origin, roots: scopeRoots(graph, action), size: queue.length };
}

export interface PlannedUpdate {
  readonly revisionId: number;
  readonly updateId: string;
  readonly action: DeploymentAction;
  readonly isLeaf: boolean;
  /** Install and Uninstall approvals only. */
  readonly deadline?: string;
  /** Its own approval, or for Bundle the approval of the bundle that carries it. */
  readonly approval?: EffectiveApproval;
}

function planned(scope: ScanScope, i: number): PlannedUpdate {
  const { graph } = scope;
  const code = scope.action[i]!;
  const e = scope.origin.get(i);
  const deadline = (code === INSTALL || code === UNINSTALL) && e?.deadline !== undefined ? e.deadline : undefined;
  return {
    revisionId: graph.revisionIds[i]!,
    updateId: graph.updateIds[i]!,
    action: ACTION_NAMES[code]!,
    isLeaf: graph.isLeaf[i] === 1,
    ...(deadline !== undefined ? { deadline } : {}),
    ...(e !== undefined ? { approval: e } : {}),
  };
}

/** The deployment of one revision for this scope (RefreshCache, GetExtendedUpdateInfo), or undefined when out of scope. */
export function scopeEntry(scope: ScanScope, revisionId: number): PlannedUpdate | undefined {
  const i = indexOfRevision(scope.graph, revisionId);
  return i < 0 || scope.action[i] === NONE ? undefined : planned(scope, i);
}

/** SyncUpdateParameters as far as planning needs them; absent arrays are empty (the native client omits them). */
export interface SyncRequest {
  readonly installedNonLeafUpdateIds?: readonly number[];
  readonly otherCachedUpdateIds?: readonly number[];
  readonly cachedDriverIds?: readonly number[];
  readonly skipSoftwareSync: boolean;
  /** SystemSpec present: only allowed on the driver pass. */
  readonly hasSystemSpec?: boolean;
  readonly filterCategoryIds?: readonly string[];
  readonly needTwoGroupOutOfScopeUpdates?: boolean;
}

export interface DeploymentChanges {
  /** The cookie's watermark: a position in the change sequence. */
  readonly watermark: number;
  /** Revision id -> position of the last change of its deployment or IsLeaf (only changed ones needed). */
  readonly positions: ReadonlyMap<number, number>;
}

export interface PlanOptions {
  /** NewUpdates per answer; WSUS sent 30. */
  readonly pageSize?: number;
  /** WSUS refused 401 InstalledNonLeafUpdateIDs. */
  readonly maxInstalledNonLeaf?: number;
  /** filterScanScope(scope, request.filterCategoryIds), when the caller keeps it. */
  readonly filtered?: ScanScope;
  readonly deploymentChanges?: DeploymentChanges;
}

export interface SyncAnswer {
  readonly kind: 'answer';
  readonly newUpdates: readonly PlannedUpdate[];
  readonly outOfScopeRevisionIds: readonly number[];
  readonly changedUpdates: readonly PlannedUpdate[];
  readonly truncated: boolean;
  /** Deliverable revisions left for the next calls. */
  readonly remaining: number;
  /** Category scans with NeedTwoGroupOutOfScopeUpdates only: held, still deployed, outside the categories. */
  readonly deployedOutOfScopeRevisionIds?: readonly number[];
  /** No driver is ever in scope yet, so the driver pass is never needed. */
  readonly driverSyncNotNeeded: boolean;
}

/** A request the server refuses with an InvalidParameters fault. */
export interface SyncRefusal {
  readonly kind: 'invalid';
  readonly errorCode: 'InvalidParameters';
  /** Where the fault points, e.g. `parameters.InstalledNonLeafUpdateIDs`. */
  readonly parameter: string;
  readonly message: string;
}

export type SyncPlan = SyncAnswer | SyncRefusal;

const INSTALLED = 1;
const CACHED = 2;
const SEEN = 4;
const NEEDED = 8;

function sortedUnique(ids: Iterable<number>): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

function driverPass(request: SyncRequest): SyncAnswer {
  // Nothing is ever deliverable on this pass, so every driver the client holds is out of scope.
  return {
    kind: 'answer',
    newUpdates: [],
    outOfScopeRevisionIds: sortedUnique(request.cachedDriverIds ?? []),
    changedUpdates: [],
    truncated: false,
    remaining: 0,
    driverSyncNotNeeded: true,
  };
}

export function planSyncUpdates(scope: ScanScope, request: SyncRequest, options: PlanOptions = {}): SyncPlan {
  const installed = request.installedNonLeafUpdateIds ?? [];
  const maxInstalled = options.maxInstalledNonLeaf ?? 400;
  if (installed.length > maxInstalled) {
    return {
      kind: 'invalid',
      errorCode: 'InvalidParameters',
      parameter: 'parameters.InstalledNonLeafUpdateIDs',
      message: `InstalledNonLeafUpdateIDs holds ${installed.length} ids; at most ${maxInstalled} are accepted`,
    };
  }
  if (request.hasSystemSpec === true && !request.skipSoftwareSync) {
    return {
      kind: 'invalid',
      errorCode: 'InvalidParameters',
      parameter: 'parameters.SystemSpec',
      message: 'SystemSpec is only accepted with SkipSoftwareSync=true',
    };
  }
  if (request.skipSoftwareSync) return driverPass(request);

  const pageSize = options.pageSize ?? 30;
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError(`page size must be a whole number ≥ 1, got ${pageSize}`);
  const filters = request.filterCategoryIds ?? [];
  const categoryScan = filters.length > 0;
  const active = categoryScan ? (options.filtered ?? filterScanScope(scope, filters)) : scope;
  const { graph } = scope;
  const { watchStart, watchers, isLeaf, isBundle, revisionIds } = graph;

  const state = new Uint8Array(graph.size);
  const held: number[] = [];
  const unknown = new Set<number>();
  const hold = (ids: readonly number[], bits: number): void => {
    for (const id of ids) {
      const i = indexOfRevision(graph, id);
      if (i < 0) {
        unknown.add(id);
      } else {
        if ((state[i]! & CACHED) === 0) held.push(i);
        state[i]! |= bits;
      }
    }
  };
  hold(installed, INSTALLED | CACHED);
  hold(request.otherCachedUpdateIds ?? [], CACHED);

  const found: number[] = [];
  const consider = (i: number): void => {
    if ((state[i]! & SEEN) !== 0) return;
    state[i]! |= SEEN;
    if (active.action[i] !== NONE && (state[i]! & CACHED) === 0 && prerequisitesMet(graph, i, state, INSTALLED)) found.push(i);
  };
  for (const r of active.roots) consider(r);
  for (const i of held) {
    if ((state[i]! & INSTALLED) === 0) continue;
    for (let w = watchStart[i]!; w < watchStart[i + 1]!; w++) consider(watchers[w]!);
  }

  const keys = new Float64Array(found.length);
  found.forEach((i, k) => {
    const rank = isLeaf[i] === 0 ? 0 : isBundle[i] === 1 ? 1 : 2;
    keys[k] = rank * graph.size + i;
  });
  keys.sort();
  const page = Math.min(pageSize, keys.length);
  const newUpdates: PlannedUpdate[] = [];
  for (let k = 0; k < page; k++) newUpdates.push(planned(active, keys[k]! % graph.size));

  const outOfScope: number[] = [...unknown];
  const deployedOutOfScope: number[] = [];
  const twoGroups = categoryScan && request.needTwoGroupOutOfScopeUpdates === true;
  for (const i of held) {
    const met = prerequisitesMet(graph, i, state, INSTALLED);
    if (met && active.action[i] !== NONE) state[i]! |= NEEDED;
    else if (twoGroups && met && scope.action[i] !== NONE) deployedOutOfScope.push(revisionIds[i]!);
    else outOfScope.push(revisionIds[i]!);
  }

  const changedUpdates: PlannedUpdate[] = [];
  const changes = options.deploymentChanges;
  if (changes !== undefined) {
    const changed = (i: number): boolean => (state[i]! & NEEDED) !== 0 && (changes.positions.get(revisionIds[i]!) ?? -Infinity) > changes.watermark;
    const picked: number[] = [];
    if (changes.positions.size < held.length) {
      for (const id of changes.positions.keys()) {
        const i = indexOfRevision(graph, id);
        if (i >= 0 && changed(i)) picked.push(i);
      }
    } else {
      for (const i of held) if (changed(i)) picked.push(i);
    }
    picked.sort((a, b) => a - b);
    for (const i of picked) changedUpdates.push(planned(active, i));
  }

  return {
    kind: 'answer',
    newUpdates,
    outOfScopeRevisionIds: outOfScope.sort((a, b) => a - b),
    changedUpdates,
    truncated: keys.length > page,
    remaining: keys.length - page,
    ...(twoGroups ? { deployedOutOfScopeRevisionIds: deployedOutOfScope.sort((a, b) => a - b) } : {}),
    driverSyncNotNeeded: true,
  };
}
