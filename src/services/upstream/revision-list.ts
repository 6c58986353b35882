// GetRevisionIdList (WSUS-PROTOCOLS §2.5): the filter in, the revisions domain/revision-filter.ts
// selects out, and an anchor at the change position read before selecting (a change committed
// meanwhile is listed again next time rather than never). GetRelatedRevisionsForUpdates too.
import { changesSincePosition, formatAnchor, readAnchorParameter } from '../../domain/anchor.ts';
import { planRevisionFilter, selectRevisions, type IdAndDelta, type RevisionFilter } from '../../domain/revision-filter.ts';
import { UPSTREAM_LIMITS } from '../../domain/upstream-config.ts';
import { invalidParameter, sharedSoapBody, SoapFault, type SoapHandler, type SoapNode } from '../../soap/index.ts';
import type { UpstreamContext } from './context.ts';
import { readList, writeUpdateIdentity } from './wire.ts';

interface ParsedFilter {
  readonly filter: RevisionFilter;
  readonly anchorText: string | undefined;
}

function idAndDeltas(filter: SoapNode, name: string): IdAndDelta[] | undefined {
  const list = filter.child(name);
  return list?.items().map((item) => ({ id: item.guid('Id'), delta: item.optBool('Delta') ?? false }));
}

/** Every problem in the filter is reported as WSUS does: InvalidParameters, Message `filter`. */
function readFilter(op: SoapNode): ParsedFilter {
  const node = op.child('filter');
  if (node === undefined) throw invalidParameter('filter', 'missing');
  try {
    return {
      anchorText: node.child('Anchor')?.asString(),
      filter: {
        getConfig: node.bool('GetConfig'),
        categories: idAndDeltas(node, 'Categories'),
        classifications: idAndDeltas(node, 'Classifications'),
      },
    };
  } catch (error) {
    if (error instanceof SoapFault) throw invalidParameter('filter', `${error.message}: ${error.reason ?? 'invalid'}`);
    throw error;
  }
}

/** The filter as a key: the same lists in any order are the same filter. */
function filterKey(filter: RevisionFilter): unknown {
  const sorted = (list: readonly IdAndDelta[] | undefined) => list && [...list].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : Number(a.delta) - Number(b.delta)));
  return [filter.getConfig, sorted(filter.categories) ?? null, sorted(filter.classifications) ?? null];
}

export function getRevisionIdList(ctx: UpstreamContext): SoapHandler {
  return async (op, request) => {
    await ctx.cookies.verify(op);
    const { filter, anchorText } = readFilter(op);
    const parameter = readAnchorParameter(anchorText);
    if (parameter.kind === 'invalid') throw invalidParameter('filter', `Anchor ${JSON.stringify(anchorText)} is not an anchor this server issued`);
    // The position is read before selecting: a change committed meanwhile is listed again next
    // time rather than never. The same filter from the same position gets the same answer, so
    // downstream servers asking together share one (SharedAnswers); lists are built one at a
    // time (Gate).
    const current = await ctx.store.changes.current();
    const since = changesSincePosition(parameter.kind === 'anchor' ? parameter.anchor : undefined, current);
    const key = JSON.stringify([filterKey(filter), since ?? null, current]);
    return ctx.revisionListAnswers.get(key, () =>
      ctx.revisionLists.run(async () => {
        const revisions = await selectRevisions(ctx.store.catalogGraph, planRevisionFilter(filter), since);
        const body = request.result((x) =>
          x
            .element('Anchor', formatAnchor(current, ctx.now()))
            .list('NewRevisions', revisions, (b, r) => writeUpdateIdentity(b, 'UpdateIdentity', { updateId: r.updateId, revisionNumber: r.revisionNumber })),
        );
        return sharedSoapBody(body.xml);
      }),
    );
  };
}

/**
 * The spec gives this operation no semantics and a DSS never calls it. Chosen: for each known
 * update id, the identity of its newest revision (what GetUpdateData would then be asked for);
 * unknown ids are left out.
 */
export function getRelatedRevisionsForUpdates(ctx: UpstreamContext): SoapHandler {
  return async (op, request) => {
    await ctx.cookies.verify(op);
    const ids = readList(op, 'updateIDs', UPSTREAM_LIMITS.maxNumberOfUpdatesPerRequest, (item) => item.asGuid());
    const revisions = await ctx.store.catalogGraph.latestOf([...new Set(ids)]);
    return request.result((x) => {
      for (const r of revisions) writeUpdateIdentity(x, 'UpdateIdentity', { updateId: r.updateId, revisionNumber: r.revisionNumber });
    });
  };
}
