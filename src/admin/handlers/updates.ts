// Updates: the filtered list, one update's details, its status on computers, and approving,
// taking back and declining one or many.
import type { ComputerGroup } from '../../domain/deployment.ts';
import { expandProducts } from '../../domain/settings.ts';
import type { UpdateListing } from '../../store/deployment-repository.ts';
import { heldRevisions, type Store } from '../../store/index.ts';
import { caller, type Handler, type HandlerContext } from '../context.ts';
import { hierarchyStatus } from '../operations/downstream.ts';
import { groupById } from '../operations/groups.ts';
import { approveUpdates, declineUpdates, reinstateUpdates, unapproveUpdates, updateStatus, type UpdateOutcome } from '../operations/updates.ts';
import { ApiProblem } from '../problem.ts';

export function updateView(u: UpdateListing, groups: ReadonlyMap<string, string>) {
  return {
    updateId: u.updateId,
    revisionNumber: u.revisionNumber,
    title: u.title,
    kb: u.kbArticleId === undefined ? null : `KB${u.kbArticleId}`,
    updateType: u.updateType,
    classifications: u.classifications,
    severity: u.msrcSeverity ?? null,
    released: u.creationDate ?? null,
    declined: u.declined,
    approvals: u.approvals.map((a) => ({
      groupId: a.groupId,
      group: groups.get(a.groupId) ?? a.groupId,
      action: a.action,
      deadline: a.deadline ?? null,
      admin: a.adminName,
      approvedAt: a.createdAt,
      revisionNumber: a.revisionNumber,
    })),
  };
}

async function groupNames(store: Store): Promise<Map<string, string>> {
  return new Map((await store.groups.list()).map((g) => [g.id, g.name]));
}

interface ListQuery {
  limit: number;
  offset: number;
  classification?: string;
  product?: string;
  approval: 'any' | 'approved' | 'unapproved';
  declined?: boolean;
  status: 'any' | 'needed' | 'failed' | 'installed' | 'no-status';
  text?: string;
  kb?: string;
}

export async function listUpdates(store: Store, q: ListQuery) {
  let productIds: string[] | undefined;
  if (q.product !== undefined) {
    // A family or company stands for every product under it.
    productIds = [q.product, ...expandProducts(await store.catalog.categories(), [q.product])];
  }
  const page = await store.approvals.listUpdates({
    ...(q.approval === 'approved' && { approved: true }),
    ...(q.approval === 'unapproved' && { unapproved: true }),
    ...(q.declined === true && { declined: true }),
    ...(q.declined === false && { includeDeclined: false }),
    ...(q.classification !== undefined && { classification: q.classification.trim() }),
    ...(productIds !== undefined && { productIds }),
    ...(q.status !== 'any' && { status: q.status }),
    ...(q.text !== undefined && { text: q.text }),
    ...(q.kb !== undefined && { kb: q.kb.replace(/^kb/i, '') }),
    limit: q.limit,
    offset: q.offset,
  });
  const names = await groupNames(store);
  return { total: page.total, offset: q.offset, limit: q.limit, updates: page.updates.map((u) => updateView(u, names)) };
}

async function updateDetails(store: Store, updateId: string) {
  const revision = await store.catalog.getLatest(updateId);
  if (revision === undefined) throw new ApiProblem(404, `unknown update ${updateId}`);
  const names = await groupNames(store);
  const [held, relationships, files, supersededBy, categories, status, declines, approvals, [hierarchy]] = await Promise.all([
    heldRevisions(store, [updateId]),
    store.catalog.relationships(revision.revisionId),
    store.files.ofRevision(revision.revisionId),
    store.adminQueries.supersededBy(updateId),
    store.catalog.categories(),
    updateStatus(store, revision),
    store.declines.list(),
    store.approvals.ofUpdate(updateId),
    hierarchyStatus(store, updateId),
  ]);
  const revisions = [];
  for (const n of [...(held.get(updateId) ?? [])].sort((a, b) => b - a)) {
    const r = await store.catalog.getRevision({ updateId, revisionNumber: n });
    if (r !== undefined) revisions.push({ revisionNumber: n, revisionId: r.revisionId, isLatest: r.isLatest });
  }
  const categoryById = new Map(categories.map((c) => [c.updateId.toLowerCase(), c]));
  const categoryIds = relationships.prerequisites.filter((p) => p.isCategory).flatMap((p) => p.updateIds.map((id) => id.toLowerCase()));
  const titles = await store.adminQueries.titles(relationships.supersedes);
  const localized = revision.localized.find((l) => l.language === 'en') ?? revision.localized[0];
  return {
    updateId,
    revisionNumber: revision.key.revisionNumber,
    title: revision.title,
    kb: revision.kbArticleId === undefined ? null : `KB${revision.kbArticleId}`,
    updateType: revision.updateType,
    classifications: categoryIds.flatMap((id) => (categoryById.get(id)?.categoryType === 'UpdateClassification' ? [categoryById.get(id)!.title] : [])),
    products: categoryIds.flatMap((id) => (categoryById.get(id)?.categoryType === 'Product' ? [categoryById.get(id)!.title] : [])),
    severity: revision.msrcSeverity ?? null,
    released: revision.creationDate ?? null,
    declined: declines.some((d) => d.updateId === updateId),
    approvals: updateView(
      {
        updateId,
        revisionNumber: revision.key.revisionNumber,
        revisionId: revision.revisionId,
        updateType: revision.updateType,
        title: revision.title,
        publicationState: revision.publicationState,
        classifications: [],
        approvals,
        declined: false,
      },
      names,
    ).approvals,
    description: localized?.description ?? null,
    publicationState: revision.publicationState,
    revisions,
    files: files.map((f) => ({ sha1: f.sha1, name: f.fileName, size: f.size, state: f.state, url: f.muUrl ?? null })),
    supersedes: relationships.supersedes.map((id) => ({ updateId: id, title: titles.get(id) ?? null })),
    supersededBy,
    status: status.counts,
    hierarchyStatus: { installed: hierarchy!.installed, needed: hierarchy!.needed, failed: hierarchy!.failed, notApplicable: hierarchy!.notApplicable, thisServer: hierarchy!.thisServer, downstream: hierarchy!.downstream },
  };
}

async function targetGroup(ctx: HandlerContext, id: string): Promise<ComputerGroup> {
  try {
    return await groupById(ctx.store, id);
  } catch (error) {
    // The group is named in the body: a wrong one is bad input, not a missing resource.
    if (error instanceof ApiProblem && error.status === 404) throw new ApiProblem(400, error.message, { errors: [{ field: 'body.groupId', message: 'unknown group' }] });
    throw error;
  }
}

function bulk(results: UpdateOutcome[]) {
  return { results: results.map((r) => ({ updateId: r.updateId, outcome: r.outcome, title: r.title })) };
}

export const updateHandlers: Record<string, Handler> = {
  listUpdates: async (ctx) => listUpdates(ctx.store, ctx.query as ListQuery),

  getUpdate: async (ctx) => updateDetails(ctx.store, ctx.params.updateId),

  getUpdateStatus: async (ctx) => {
    const revision = await ctx.store.catalog.getLatest(ctx.params.updateId);
    if (revision === undefined) throw new ApiProblem(404, `unknown update ${ctx.params.updateId}`);
    const { updateId, counts, computers } = await updateStatus(ctx.store, revision);
    return { updateId, counts, computers };
  },

  approveUpdates: async (ctx) => {
    const body = ctx.body as { updateIds: string[]; groupId: string; action: 'Install' | 'Uninstall' | 'PreDeploymentCheck'; deadline?: string };
    const group = await targetGroup(ctx, body.groupId);
    const deadline = body.deadline === undefined ? undefined : new Date(body.deadline).toISOString();
    const results = await approveUpdates(ctx.store, { updates: body.updateIds, group, action: body.action, ...(deadline !== undefined && { deadline }), adminName: caller(ctx).account.name });
    await ctx.audit('updates.approve', group.name, { groupId: group.id, action: body.action, deadline: deadline ?? null, updates: results.map((r) => ({ updateId: r.updateId, revisionNumber: r.revisionNumber, outcome: r.outcome })) });
    return bulk(results);
  },

  unapproveUpdates: async (ctx) => {
    const body = ctx.body as { updateIds: string[]; groupId: string };
    const group = await targetGroup(ctx, body.groupId);
    const results = await unapproveUpdates(ctx.store, body.updateIds, group);
    await ctx.audit('updates.unapprove', group.name, { groupId: group.id, updates: results.map((r) => ({ updateId: r.updateId, outcome: r.outcome })) });
    return bulk(results);
  },

  reinstateUpdates: async (ctx) => {
    const results = await reinstateUpdates(ctx.store, (ctx.body as { updateIds: string[] }).updateIds);
    await ctx.audit('updates.reinstate', `${results.length} update(s)`, { updates: results.map((r) => ({ updateId: r.updateId, outcome: r.outcome })) });
    return bulk(results);
  },

  declineUpdates: async (ctx) => {
    const body = ctx.body as { updateIds: string[] };
    const results = await declineUpdates(ctx.store, body.updateIds, caller(ctx).account.name);
    await ctx.audit('updates.decline', `${results.length} update(s)`, { updates: results.map((r) => ({ updateId: r.updateId, outcome: r.outcome })) });
    return bulk(results);
  },
};

