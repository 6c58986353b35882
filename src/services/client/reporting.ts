// The Reporting web service (WSUS-PROTOCOLS §4.8, §2.9): ReportEventBatch from agents, stored once
// per EventInstanceID with the status it implies. The rollup operations downstream servers call
// share its path: they live in services/reporting/rollup.ts and are registered here beside it.
import { statusFromEvent, type ReportingEvent, type StatusReport } from '../../domain/client-event.ts';
import { defineSoapService, invalidParameter, SoapFault, type SoapHandler, type SoapNode, type SoapService } from '../../soap/index.ts';
import type { ClientContext } from './context.ts';
import { MAX_IDS_PER_CALL } from './wire.ts';
import { rollupOperations } from '../reporting/rollup.ts';

export const REPORTING_PATHS = ['/ReportingWebService/ReportingWebService.asmx', '/ReportingWebService/WebService.asmx'];
export const REPORTING_NS = 'http://www.microsoft.com/SoftwareDistribution';

function readEvent(node: SoapNode): ReportingEvent {
  const basic = node.need('BasicData');
  const extended = node.child('ExtendedData');
  const update = basic.child('UpdateID');
  const time = basic.dateTime('TimeAtTarget');
  return {
    eventInstanceId: basic.guid('EventInstanceID'),
    namespaceId: basic.int('NamespaceID'),
    eventId: basic.int('EventID'),
    sourceId: basic.optInt('SourceID') ?? 0,
    updateId: update?.optGuid('UpdateID') ?? '00000000-0000-0000-0000-000000000000',
    revisionNumber: update?.optInt('RevisionNumber') ?? 0,
    win32HResult: basic.optInt('Win32HResult') ?? 0,
    appName: basic.optString('AppName') ?? '',
    timeAtTarget: time.toISOString(),
    replacementStrings: extended?.strings('ReplacementStrings') ?? [],
    miscData: extended?.strings('MiscData') ?? [],
  };
}

export function reportEventBatch(ctx: ClientContext): SoapHandler {
  return async (op, request) => {
    const claims = await ctx.cookies.verify(op);
    const items = op.list('eventBatch');
    if (items.length > MAX_IDS_PER_CALL) throw invalidParameter('eventBatch', `${items.length} events`);
    let events: ReportingEvent[];
    try {
      events = items.map(readEvent);
    } catch (error) {
      if (error instanceof SoapFault) throw invalidParameter('eventBatch', error.reason ?? error.message);
      throw error;
    }
    const fresh = await ctx.store.clientEvents.record(claims.clientId, events);
    const reports = [...fresh]
      .sort((a, b) => a.timeAtTarget.localeCompare(b.timeAtTarget))
      .map(statusFromEvent)
      .filter((r): r is StatusReport => r !== undefined);
    const now = ctx.now();
    await ctx.store.clientEvents.applyStatus(claims.clientId, reports, now);
    await ctx.store.computers.markReported(claims.clientId, now);
    return request.result((x) => x.text(true));
  };
}

export function defineReportingService(ctx: ClientContext): SoapService {
  return defineSoapService({
    name: 'ReportingWebService',
    paths: REPORTING_PATHS,
    namespace: REPORTING_NS,
    operations: {
      ReportEventBatch: reportEventBatch(ctx),
      ...rollupOperations({ store: ctx.store, now: ctx.now }),
    },
  });
}
