// Metadata synchronization (WSUS-PROTOCOLS §4.4, §4.6, §4.7): SyncUpdates rounds planned by
// domain/scan-plan.ts on the computer's cached scope, RefreshCache, StartCategoryScan.
import { planSyncUpdates, scopeEntry, type PlannedUpdate, type SyncRequest } from '../../domain/scan-plan.ts';
import { ALL_COMPUTERS_GROUP_ID } from '../../domain/wellknown.ts';
import { formatDate, formatDateTime, SoapFault, invalidParameter, type SoapHandler, type SoapNode, type SoapXmlBuilder } from '../../soap/index.ts';
import type { ClientContext } from './context.ts';
import type { ClientClaims } from './cookies.ts';
import type { ClientScope } from './scopes.ts';
import { MAX_IDS_PER_CALL, MAX_INSTALLED_NON_LEAF, MAX_SCAN_CATEGORIES } from './wire.ts';

/**
 * The Deployment every UpdateInfo must carry, in the fields and order the real WSUS sends
 * (scan/000006). Its ID: WSUS numbers deployments; an approval's number is doubled and a revision
 * delivered without one (Evaluate, automatic detection) gets its revision id doubled plus one, so
 * the two never collide and each stays put while nothing changes.
 */
export function writeDeployment(x: SoapXmlBuilder, scope: ClientScope, u: PlannedUpdate, now: Date): void {
  const approval = u.approval?.approvalId === undefined ? undefined : scope.approvalsById.get(u.approval.approvalId);
  const id = approval !== undefined ? approval.number * 2 : u.revisionId * 2 + 1;
  const changed = approval?.createdAt ?? scope.receivedAt(u.revisionId);
  const changedAt = changed === undefined || Number.isNaN(Date.parse(changed)) ? now : new Date(changed);
  x.start('Deployment')
    .element('ID', id)
    .element('Action', u.action)
    .element('Deadline', u.deadline === undefined ? undefined : formatDateTime(new Date(u.deadline)))
    .element('IsAssigned', true)
    .element('LastChangeTime', formatDate(changedAt))
    .element('AutoSelect', 0)
    .element('AutoDownload', 0)
    .element('SupersedenceBehavior', 0)
    .end();
}

function readSyncRequest(p: SoapNode): SyncRequest {
  return {
    installedNonLeafUpdateIds: p.ints('InstalledNonLeafUpdateIDs'),
    otherCachedUpdateIds: p.ints('OtherCachedUpdateIDs'),
    cachedDriverIds: p.ints('CachedDriverIDs'),
    skipSoftwareSync: p.optBool('SkipSoftwareSync') ?? false,
    hasSystemSpec: p.has('SystemSpec'),
    filterCategoryIds: p.list('FilterCategoryIds').map((c) => c.guid('Id')),
    needTwoGroupOutOfScopeUpdates: p.optBool('NeedTwoGroupOutOfScopeUpdates') ?? false,
  };
}

/** The same cookie with a fresh seal and the new watermark; WSUS keeps the Expiration. */
async function newCookie(ctx: ClientContext, claims: ClientClaims, watermark: number): Promise<{ expiration: Date; data: Buffer }> {
  const data = await ctx.cookies.seal({ ...claims, watermark: Math.max(watermark, claims.watermark) });
  return { expiration: claims.expiresAt, data };
}

export function writeNewCookie(x: SoapXmlBuilder, cookie: { expiration: Date; data: Buffer }): void {
  x.start('NewCookie').element('Expiration', cookie.expiration).element('EncryptedData', cookie.data).end();
}

export function syncUpdates(ctx: ClientContext): SoapHandler {
  return async (op, request) => {
    const claims = await ctx.cookies.verify(op);
    const sync = readSyncRequest(op.need('parameters'));
    const scope = await ctx.scopes.scopeFor(claims.groupIds);
    const filters = sync.filterCategoryIds ?? [];
    const plan = planSyncUpdates(scope.scope, sync, {
      pageSize: ctx.pageSize,
      maxInstalledNonLeaf: MAX_INSTALLED_NON_LEAF,
      ...(filters.length > 0 && !sync.skipSoftwareSync ? { filtered: scope.filtered(filters) } : {}),
      deploymentChanges: { watermark: claims.watermark, positions: scope.positions },
    });
    if (plan.kind === 'invalid') throw new SoapFault(plan.errorCode, plan.parameter, { reason: plan.message });
    const cores = await ctx.store.scanCatalog.cores(plan.newUpdates.map((u) => u.revisionId));
    const cookie = await newCookie(ctx, claims, scope.position);
    const now = ctx.now();
    await ctx.store.computers.markSynced(claims.clientId, now);
    return request.result((x) => {
      if (plan.newUpdates.length > 0) {
        x.list('NewUpdates', plan.newUpdates, (b, u) => {
          b.start('UpdateInfo').element('ID', u.revisionId);
          writeDeployment(b, scope, u, now);
          b.element('IsLeaf', u.isLeaf).element('Xml', cores.get(u.revisionId) ?? '').end();
        });
      }
      if (plan.outOfScopeRevisionIds.length > 0) x.list('OutOfScopeRevisionIDs', 'int', plan.outOfScopeRevisionIds);
      if (plan.changedUpdates.length > 0) {
        // The client holds the Core fragment already; only the deployment is news.
        x.list('ChangedUpdates', plan.changedUpdates, (b, u) => {
          b.start('UpdateInfo').element('ID', u.revisionId);
          writeDeployment(b, scope, u, now);
          b.element('IsLeaf', u.isLeaf).end();
        });
      }
      x.element('Truncated', plan.truncated);
      writeNewCookie(x, cookie);
      const deployedOut = plan.deployedOutOfScopeRevisionIds ?? [];
      if (deployedOut.length > 0) x.list('DeployedOutOfScopeRevisionIds', 'int', deployedOut);
      x.element('DriverSyncNotNeeded', plan.driverSyncNotNeeded ? 'true' : 'false');
    });
  };
}

export function refreshCache(ctx: ClientContext): SoapHandler {
  return async (op, request) => {
    const claims = await ctx.cookies.verify(op);
    const ids = op.list('globalIDs');
    if (ids.length > MAX_IDS_PER_CALL) throw invalidParameter('globalIDs', `${ids.length} ids`);
    const keys = ids.map((i) => ({ updateId: i.guid('UpdateID'), revisionNumber: i.int('RevisionNumber') }));
    const scope = await ctx.scopes.scopeFor(claims.groupIds);
    const { graph } = scope.scope;
    const candidates = keys.flatMap((k) => {
      const i = graph.byUpdateId.get(k.updateId);
      return i === undefined ? [] : [{ key: k, revisionId: graph.revisionIds[i]! }];
    });
    const summaries = new Map((await ctx.store.catalog.summaries(candidates.map((c) => c.revisionId))).map((s) => [s.revisionId, s]));
    const now = ctx.now();
    return request.result((x) => {
      for (const c of candidates) {
        if (summaries.get(c.revisionId)?.key.revisionNumber !== c.key.revisionNumber) continue;
        const entry = scopeEntry(scope.scope, c.revisionId);
        // WSUS leaves bundle members out; the client gets them again with their bundle.
        if (entry === undefined || entry.action === 'Bundle') continue;
        x.start('RefreshCacheResult')
          .element('RevisionID', c.revisionId)
          .start('GlobalID')
          .element('UpdateID', c.key.updateId)
          .element('RevisionNumber', c.key.revisionNumber)
          .end()
          .element('IsLeaf', entry.isLeaf);
        writeDeployment(x, scope, entry, now);
        x.end();
      }
    });
  };
}

export function startCategoryScan(ctx: ClientContext): SoapHandler {
  return async (op, request) => {
    const requested = op.list('requestedCategories');
    if (requested.length > MAX_SCAN_CATEGORIES) throw invalidParameter('requestedCategories', `${requested.length} categories`);
    const ids = [...new Set(requested.map((r) => r.guid('CategoryId')))];
    const scope = await ctx.scopes.scopeFor([ALL_COMPUTERS_GROUP_ID]);
    const known = ids.filter((id) => scope.scope.graph.byUpdateId.has(id));
    const unknown = ids.filter((id) => !scope.scope.graph.byUpdateId.has(id));
    const x = request.xml();
    x.list('preferredCategoryIds', 'guid', known);
    if (unknown.length > 0) x.list('requestedCategoryIdsInError', 'guid', unknown);
    return x;
  };
}

/**
 * SyncPrinterCatalog (MS-WUSP 2.2.2.2.9, 3.1.5.12; the Add Printer wizard): the printer drivers
 * deployed to the client that best match its printers. This server offers no drivers yet (the
 * driver pass answers DriverSyncNotNeeded), so the catalog is empty: no NewUpdates, and the
 * printer updates the client holds are out of scope, so it drops them. The answer keeps the
 * SyncInfo shape of SyncUpdates, with a new cookie.
 */
export function syncPrinterCatalog(ctx: ClientContext): SoapHandler {
  return async (op, request) => {
    const claims = await ctx.cookies.verify(op);
    // 3.1.5.12: a configuration changed since the cookie was issued sends the client back to GetConfig.
    if (claims.configVersion !== (await ctx.lastChange()).getTime()) throw new SoapFault('ConfigChanged', '', { reason: 'the client holds an older configuration' });
    const installed = op.ints('installedNonLeafUpdateIDs');
    if (installed.length > MAX_INSTALLED_NON_LEAF) throw invalidParameter('installedNonLeafUpdateIDs', `${installed.length} ids`);
    const cached = [...new Set(op.ints('printerUpdateIDs'))];
    if (cached.length > MAX_IDS_PER_CALL) throw invalidParameter('printerUpdateIDs', `${cached.length} ids`);
    const scope = await ctx.scopes.scopeFor(claims.groupIds);
    const cookie = await newCookie(ctx, claims, scope.position);
    return request.result((x) => {
      if (cached.length > 0) x.list('OutOfScopeRevisionIDs', 'int', cached);
      x.element('Truncated', false);
      writeNewCookie(x, cookie);
    });
  };
}
