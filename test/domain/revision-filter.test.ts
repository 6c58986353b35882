import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  matchCategories,
  orderRevisions,
  planRevisionFilter,
  selectRevisions,
  type BundleEdge,
  type CatalogGraphReader,
  type CategoryLink,
  type CategoryLinkScope,
  type FilterPlan,
  type RevisionRef,
} from '../../src/domain/revision-filter.ts';

const P1 = 'product-1';
const P2 = 'product-2';
const C1 = 'class-1';
const C2 = 'class-2';

interface Node extends RevisionRef {
  readonly config?: boolean;
  /** Ids named by IsCategory clauses. */
  readonly categories?: readonly string[];
  /** Bundled child update ids. */
  readonly bundles?: readonly string[];
}

/** The catalog graph in memory, newest revisions only, counting the reads made. */
class MemoryGraph implements CatalogGraphReader {
  readonly nodes: Node[] = [];
  readonly calls: string[] = [];
  #seq = 0;
  #revisionIds = 0;

  add(updateId: string, spec: Omit<Node, 'revisionId' | 'updateId' | 'revisionNumber' | 'changeSeq'> & { revisionNumber?: number } = {}): Node {
    const node: Node = { revisionNumber: 100, ...spec, updateId, revisionId: ++this.#revisionIds, changeSeq: ++this.#seq };
    const existing = this.nodes.findIndex((n) => n.updateId === updateId);
    if (existing >= 0) this.nodes.splice(existing, 1);
    this.nodes.push(node);
    return node;
  }

  get position(): number {
    return this.#seq;
  }

  async latest(kind: 'config' | 'content', since?: number): Promise<RevisionRef[]> {
    this.calls.push('latest');
    return this.nodes.filter((n) => Boolean(n.config) === (kind === 'config') && (since === undefined || n.changeSeq > since));
  }

  async categoryLinks(categoryIds: readonly string[], scope?: CategoryLinkScope): Promise<CategoryLink[]> {
    this.calls.push('categoryLinks');
    const wanted = new Set(categoryIds);
    return this.nodes
      .filter((n) => !n.config)
      .filter((n) => scope === undefined || ('revisionIds' in scope ? scope.revisionIds.includes(n.revisionId) : (n.categories ?? []).some((c) => scope.withAnyOf.includes(c))))
      .flatMap((n) => (n.categories ?? []).filter((c) => wanted.has(c)).map((c) => ({ revision: n, categoryId: c })));
  }

  async childrenOf(revisionIds: readonly number[]): Promise<BundleEdge[]> {
    this.calls.push('childrenOf');
    return this.nodes
      .filter((n) => revisionIds.includes(n.revisionId))
      .flatMap((parent) => (parent.bundles ?? []).flatMap((id) => this.nodes.filter((c) => c.updateId === id).map((child) => ({ parent, child }))));
  }

  async parentsOf(updateIds: readonly string[]): Promise<BundleEdge[]> {
    this.calls.push('parentsOf');
    return this.nodes.flatMap((parent) =>
      (parent.bundles ?? []).filter((id) => updateIds.includes(id)).flatMap((id) => this.nodes.filter((c) => c.updateId === id).map((child) => ({ parent, child }))),
    );
  }
}

const ids = (refs: readonly RevisionRef[]) => refs.map((r) => r.updateId);

function match(products: Record<string, boolean>, classifications: Record<string, boolean>): FilterPlan {
  return planRevisionFilter({
    getConfig: false,
    categories: Object.entries(products).map(([id, delta]) => ({ id, delta })),
    classifications: Object.entries(classifications).map(([id, delta]) => ({ id, delta })),
  });
}

describe('the GetRevisionIdList filter', () => {
  it('plans what the real WSUS answered: config, everything, nothing, or a match', () => {
    assert.deepEqual(planRevisionFilter({ getConfig: true, categories: [{ id: P1, delta: false }] }), { kind: 'config' });
    assert.deepEqual(planRevisionFilter({ getConfig: false }), { kind: 'everything' });
    // One list only (000007), or an empty list: nothing.
    assert.deepEqual(planRevisionFilter({ getConfig: false, categories: [{ id: P1, delta: false }] }), { kind: 'nothing' });
    assert.deepEqual(planRevisionFilter({ getConfig: false, classifications: [{ id: C1, delta: false }] }), { kind: 'nothing' });
    assert.deepEqual(planRevisionFilter({ getConfig: false, categories: [], classifications: [{ id: C1, delta: false }] }), { kind: 'nothing' });
    const plan = planRevisionFilter({
      getConfig: false,
      categories: [{ id: P1, delta: true }, { id: P1, delta: false }, { id: P2, delta: true }],
      classifications: [{ id: C1, delta: true }],
    });
    assert.equal(plan.kind, 'match');
    if (plan.kind !== 'match') return;
    // An id listed twice asks for everything if either entry does.
    assert.deepEqual([...plan.products], [[P1, true], [P2, false]]);
    assert.deepEqual([...plan.classifications], [[C1, false]]);
  });

  it('selects on a listed product AND a listed classification; Delta=false or no anchor means everything', () => {
    const plan = match({ [P1]: true, [P2]: false }, { [C1]: true }) as Extract<FilterPlan, { kind: 'match' }>;
    assert.equal(matchCategories([P1], plan, true), 'none');
    assert.equal(matchCategories([C1], plan, true), 'none');
    assert.equal(matchCategories([P1, C2], plan, true), 'none');
    assert.equal(matchCategories([P1, C1], plan, true), 'delta');
    assert.equal(matchCategories([P1, C1], plan, false), 'full');
    assert.equal(matchCategories([P2, C1], plan, true), 'full');
    assert.equal(matchCategories([P1, P2, C1, C2], plan, true), 'full');
  });

  it('lists one entry per update, its newest revision, in change order', () => {
    const a = { revisionId: 1, updateId: 'a', revisionNumber: 100, changeSeq: 5 };
    const a2 = { revisionId: 2, updateId: 'a', revisionNumber: 101, changeSeq: 3 };
    const b = { revisionId: 3, updateId: 'b', revisionNumber: 1, changeSeq: 4 };
    assert.deepEqual(orderRevisions([a, b, a2, b]), [a2, b]);
  });

  it('without an anchor: every match, and everything its bundles bundle, transitively', async () => {
    const g = new MemoryGraph();
    g.add('company', { config: true });
    g.add('leaf-1');
    g.add('leaf-2');
    g.add('inner-bundle', { bundles: ['leaf-2'] });
    g.add('bundle', { categories: [P1, C1], bundles: ['leaf-1', 'inner-bundle', 'missing'] });
    g.add('product-only', { categories: [P1] });
    g.add('other-class', { categories: [P1, C2] });
    g.add('standalone', { categories: [C1, P1] });
    const plan = match({ [P1]: false }, { [C1]: false });
    assert.deepEqual(ids(await selectRevisions(g, plan, undefined)), ['leaf-1', 'leaf-2', 'inner-bundle', 'bundle', 'standalone']);
    assert.deepEqual(ids(await selectRevisions(g, { kind: 'config' }, undefined)), ['company']);
    assert.deepEqual(ids(await selectRevisions(g, { kind: 'nothing' }, undefined)), []);
    assert.equal((await selectRevisions(g, { kind: 'everything' }, undefined)).length, 7);
  });

  it('with an anchor and Delta=true: only what changed, found through the bundles above it', async () => {
    const g = new MemoryGraph();
    g.add('leaf-1');
    g.add('leaf-2');
    g.add('inner-bundle', { bundles: ['leaf-2'] });
    g.add('bundle', { categories: [P1, C1], bundles: ['leaf-1', 'inner-bundle'] });
    g.add('unselected-bundle', { categories: [P2, C1], bundles: ['leaf-3'] });
    g.add('leaf-3');
    const anchor = g.position;
    const plan = match({ [P1]: true }, { [C1]: true });
    g.calls.length = 0;
    assert.deepEqual(ids(await selectRevisions(g, plan, anchor)), []);
    // Nothing changed: one read, whatever the size of the catalog.
    assert.deepEqual(g.calls, ['latest']);

    g.add('leaf-2', { revisionNumber: 101 }); // under a selected bundle, two levels down
    g.add('leaf-3', { revisionNumber: 101 }); // under a bundle the filter does not select
    assert.deepEqual(
      (await selectRevisions(g, plan, anchor)).map((r) => `${r.updateId}/${r.revisionNumber}`),
      ['leaf-2/101'],
    );
    assert.deepEqual(ids(await selectRevisions(g, plan, g.position)), []);
  });

  it('a bundle that changed brings everything it bundles, changed or not', async () => {
    const g = new MemoryGraph();
    g.add('old-update', { categories: [P2, C1] });
    g.add('bundle', { categories: [P1, C1], bundles: ['leaf'] });
    g.add('leaf');
    const anchor = g.position;
    // The new revision takes in an update the downstream never got through this filter.
    g.add('bundle', { categories: [P1, C1], bundles: ['leaf', 'old-update'], revisionNumber: 101 });
    const listed = await selectRevisions(g, match({ [P1]: true }, { [C1]: true }), anchor);
    assert.deepEqual(listed.map((r) => `${r.updateId}/${r.revisionNumber}`).sort(), ['bundle/101', 'leaf/100', 'old-update/100']);
  });

  it('Delta is per id: an id sent with Delta=false is resent whole, the others only for changes', async () => {
    const g = new MemoryGraph();
    g.add('p1-old', { categories: [P1, C1] });
    g.add('p2-old', { categories: [P2, C1] });
    g.add('p2-c2-old', { categories: [P2, C2] });
    const anchor = g.position;
    g.add('p1-new', { categories: [P1, C1] });
    const listed = ids(await selectRevisions(g, match({ [P1]: true, [P2]: false }, { [C1]: true }), anchor));
    assert.deepEqual(listed, ['p2-old', 'p1-new']);
    // A newly listed classification likewise.
    const byClass = ids(await selectRevisions(g, match({ [P1]: true, [P2]: true }, { [C1]: true, [C2]: false }), anchor));
    assert.deepEqual(byClass, ['p2-c2-old', 'p1-new']);
  });

  it('lists expired and every other state alike: selection never looks at the document', async () => {
    const g = new MemoryGraph();
    g.add('expired', { categories: [P1, C1] });
    assert.deepEqual(ids(await selectRevisions(g, match({ [P1]: false }, { [C1]: false }), undefined)), ['expired']);
  });

  it('survives a bundle cycle in bad data', async () => {
    const g = new MemoryGraph();
    g.add('x', { bundles: ['y'] });
    g.add('y', { bundles: ['x'] });
    g.add('top', { categories: [P1, C1], bundles: ['x'] });
    const anchor = g.position;
    assert.deepEqual(ids(await selectRevisions(g, match({ [P1]: false }, { [C1]: false }), undefined)).sort(), ['top', 'x', 'y']);
    g.add('y', { bundles: ['x'], revisionNumber: 101 });
    assert.deepEqual(ids(await selectRevisions(g, match({ [P1]: true }, { [C1]: true }), anchor)).sort(), ['x', 'y']);
  });
});
