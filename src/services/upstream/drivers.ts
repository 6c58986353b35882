// Driver sync (WSUS-PROTOCOLS §2.7) is inventory-driven and only Microsoft Update serves it; a WSUS
// upstream advertises driver limits of 0 and so does this one. GetDriverIdList answers with
// nothing new; GetDriverSetData refuses any id with TooManyIds, the fault MS-WSUSSS gives for more
// driver sets than MaxNumberOfDriverSetsPerRequest (0).
import { formatAnchor, readAnchorParameter } from '../../domain/anchor.ts';
import { UPSTREAM_LIMITS } from '../../domain/upstream-config.ts';
import { invalidParameter, SoapFault, type SoapHandler } from '../../soap/index.ts';
import type { UpstreamContext } from './context.ts';

export function getDriverIdList(ctx: UpstreamContext): SoapHandler {
  return async (op, request) => {
    await ctx.cookies.verify(op);
    const filter = op.child('filter');
    let anchorText: string | undefined;
    try {
      anchorText = filter?.child('Anchor')?.asString();
    } catch {
      throw invalidParameter('filter', 'Anchor is not a simple value');
    }
    if (readAnchorParameter(anchorText).kind === 'invalid') throw invalidParameter('filter', 'Anchor is not an anchor this server issued');
    const current = await ctx.store.changes.current();
    return request.result((x) =>
      x
        .element('Anchor', formatAnchor(current, ctx.now()))
        .list('NewRevisions', [], () => {})
        .list('NewDriverSets', 'guid', [])
        .list('RemovedDriverSets', 'guid', []),
    );
  };
}

export function getDriverSetData(ctx: UpstreamContext): SoapHandler {
  return async (op, request) => {
    await ctx.cookies.verify(op);
    const count = op.child('driverSets')?.items().length ?? 0;
    if (count > UPSTREAM_LIMITS.maxNumberOfDriverSetsPerRequest) {
      throw new SoapFault('TooManyIds', '', { reason: `${count} driver sets asked, this server serves none` });
    }
    return request.result((x) => x.list('DriverSets', [], () => {}));
  };
}
