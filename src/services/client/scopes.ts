// What each combination of groups may receive (domain/scan-plan.ts buildScanScope), kept in
// memory and rebuilt when the change sequence moves: the compiled catalog graph only when
// revisions changed, the per-group approvals and scopes when approvals or declines did. Every
// front end of a shared database sees the same positions, so they agree on what is current.
import {
  autoDetectedUpdates,
  buildGroupTree,
  combineEffectiveApprovals,
  declinedSet,
  groupEffectiveApprovals,
  indexApprovals,
  type EffectiveApproval,
  type GroupTree,
} from '../../domain/approval-rules.ts';
import type { Approval, ComputerGroup } from '../../domain/deployment.ts';
import { compileCatalogGraph, type CatalogGraph } from '../../domain/prerequisite-graph.ts';
import { buildScanScope, filterScanScope, type ScanScope } from '../../domain/scan-plan.ts';
import { ALL_COMPUTERS_GROUP_ID } from '../../domain/wellknown.ts';
import { REVISION_CHANGE, type NumberedApproval, type Store } from '../../store/index.ts';

const MAX_FILTERS_PER_SCOPE = 32;

/** The catalog as of one change position. */
interface CatalogState {
  readonly position: number;
  readonly groupsKey: string;
  readonly graph: CatalogGraph;
  /** Per graph index: when the revision was stored, and its change position. */
  readonly receivedAt: readonly string[];
  readonly revisionSeq: Float64Array;
  readonly tree: GroupTree;
  readonly approvalsByGroup: ReadonlyMap<string, readonly Approval[]>;
  readonly approvalsById: ReadonlyMap<string, NumberedApproval>;
  readonly declined: ReadonlySet<string>;
  readonly autoDetected: ReadonlySet<string>;
  /** Expired updates: WSUS declines them, so they leave every scan. */
  readonly expired: readonly string[];
  readonly perGroup: Map<string, Map<string, EffectiveApproval>>;
  readonly scopes: Map<string, ClientScope>;
}

/** One group set's scope with what answers need beside it. */
export interface ClientScope {
  readonly position: number;
  readonly scope: ScanScope;
  /** Revision id -> change position of its deployment (the newer of revision and approval). */
  readonly positions: ReadonlyMap<number, number>;
  readonly approvalsById: ReadonlyMap<string, NumberedApproval>;
  receivedAt(revisionId: number): string | undefined;
  /** The scope restricted to some categories (StartCategoryScan / FilterCategoryIds), cached. */
  filtered(categoryIds: readonly string[]): ScanScope;
}

export class ScopeCache {
  readonly #store: Store;
  #state: CatalogState | undefined;
  #pending: Promise<CatalogState> | undefined;

  constructor(store: Store) {
    this.#store = store;
  }

  /** The scope of a computer in these groups, as of the current change position. */
  async scopeFor(groupIds: readonly string[]): Promise<ClientScope> {
    const state = await this.#current();
    const known = [...new Set(groupIds)].filter((g) => state.tree.groups.has(g)).sort();
    const groups = known.length > 0 ? known : [ALL_COMPUTERS_GROUP_ID];
    const key = groups.join(',');
    let entry = state.scopes.get(key);
    if (entry === undefined) {
      entry = this.#buildScope(state, groups);
      state.scopes.set(key, entry);
    }
    return entry;
  }

  async #current(): Promise<CatalogState> {
    const [position, groups] = await Promise.all([this.#store.changes.current(), this.#store.groups.list()]);
    const groupsKey = groupsFingerprint(groups);
    const state = this.#state;
    if (state !== undefined && state.position === position && state.groupsKey === groupsKey) return state;
    // One rebuild at a time: concurrent scans of a fresh position share it.
    if (this.#pending === undefined) {
      this.#pending = this.#load(position, groups, groupsKey, state).finally(() => {
        this.#pending = undefined;
      });
    }
    const loaded = await this.#pending;
    if (this.#state === undefined || this.#state.position <= loaded.position) this.#state = loaded;
    return loaded;
  }

  // Everything below is read after `position`, so it holds at least the changes up to it: a change
  // that slips in between is sent again as changed later, never missed. Approvals and declines are
  // re-read whole on every change; patching the per-group maps (approval-rules' affectedGroups and
  // effectiveApprovalOfUpdate) is the next step when approvals change often on large catalogs.
  async #load(position: number, groups: ComputerGroup[], groupsKey: string, previous: CatalogState | undefined): Promise<CatalogState> {
    let catalog: Pick<CatalogState, 'graph' | 'receivedAt' | 'revisionSeq' | 'autoDetected' | 'expired'>;
    const revisionsChanged =
      previous === undefined ||
      position < previous.position ||
      (await this.#store.changes.since(previous.position, { kinds: [REVISION_CHANGE], limit: 1 })).length > 0;
    if (revisionsChanged) {
      const revisions = await this.#store.scanCatalog.revisions();
      const graph = compileCatalogGraph(revisions);
      const receivedAt: string[] = new Array(graph.size);
      const revisionSeq = new Float64Array(graph.size);
      const categoriesOf = new Map<string, readonly string[]>();
      const expired: string[] = [];
      for (const r of revisions) {
        const i = graph.byRevisionId.get(r.revisionId)!;
        receivedAt[i] = r.receivedAt;
        revisionSeq[i] = r.changeSeq;
        if (r.updateType === 'Software') categoriesOf.set(r.updateId, r.categoryIds);
        if (r.publicationState === 'Expired') expired.push(r.updateId);
      }
      const autoDetected = autoDetectedUpdates({ updateIds: categoriesOf.keys(), classificationOf: (id) => categoriesOf.get(id) });
      catalog = { graph, receivedAt, revisionSeq, autoDetected, expired };
    } else {
      catalog = previous!;
    }
    const [approvals, declines] = await Promise.all([this.#store.scanCatalog.approvals(), this.#store.declines.list()]);
    const declined = declinedSet([...declines.map((d) => d.updateId), ...catalog.expired]);
    return {
      position,
      groupsKey,
      graph: catalog.graph,
      receivedAt: catalog.receivedAt,
      revisionSeq: catalog.revisionSeq,
      tree: buildGroupTree(groups),
      approvalsByGroup: indexApprovals(approvals),
      approvalsById: new Map(approvals.map((a) => [a.id, a])),
      declined,
      autoDetected: catalog.autoDetected,
      expired: catalog.expired,
      perGroup: new Map(),
      scopes: new Map(),
    };
  }

  #buildScope(state: CatalogState, groups: readonly string[]): ClientScope {
    const maps = groups.map((groupId) => {
      let map = state.perGroup.get(groupId);
      if (map === undefined) {
        map = groupEffectiveApprovals({
          tree: state.tree,
          groupId,
          approvalsByGroup: state.approvalsByGroup,
          declined: state.declined,
          autoDetected: state.autoDetected,
        });
        state.perGroup.set(groupId, map);
      }
      return map;
    });
    const effective = combineEffectiveApprovals(maps, groups);
    const scope = buildScanScope(state.graph, effective, state.declined);
    const positions = new Map<number, number>();
    const { graph } = state;
    for (let i = 0; i < graph.size; i++) {
      if (scope.action[i] === 0) continue;
      const approvalId = scope.origin.get(i)?.approvalId;
      const approvalSeq = approvalId === undefined ? 0 : (state.approvalsById.get(approvalId)?.changeSeq ?? 0);
      positions.set(graph.revisionIds[i]!, Math.max(state.revisionSeq[i]!, approvalSeq));
    }
    const filters = new Map<string, ScanScope>();
    return {
      position: state.position,
      scope,
      positions,
      approvalsById: state.approvalsById,
      receivedAt: (revisionId) => {
        const i = graph.byRevisionId.get(revisionId);
        return i === undefined ? undefined : state.receivedAt[i];
      },
      filtered: (categoryIds) => {
        const key = [...new Set(categoryIds.map((c) => c.toLowerCase()))].sort().join(',');
        let filtered = filters.get(key);
        if (filtered === undefined) {
          filtered = filterScanScope(scope, categoryIds);
          if (filters.size >= MAX_FILTERS_PER_SCOPE) filters.delete(filters.keys().next().value!);
          filters.set(key, filtered);
        }
        return filtered;
      },
    };
  }
}

function groupsFingerprint(groups: readonly ComputerGroup[]): string {
  return groups.map((g) => `${g.id}>${g.parentId ?? ''}`).join('|');
}

