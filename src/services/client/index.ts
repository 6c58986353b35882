// The client role (DESIGN §1): the Client and SimpleAuth web services a Windows Update Agent
// scans against (MS-WUSP), answered from the store.
//
//   await registerClientServices(app, { store });
//
// registers POST (and GET) on /ClientWebService/client.asmx, /SimpleAuthWebService/SimpleAuth.asmx
// and /ReportingWebService/{ReportingWebService,WebService}.asmx on `app`, once per listener. Pass
// one ClientContext to every listener's registration so they share the scope cache.
import type { FastifyInstance } from 'fastify';
import { defineSoapService, registerSoapService, type SoapHandler, type SoapService } from '../../soap/index.ts';
import { ClientContext, type ClientDeps } from './context.ts';
import { getExtendedUpdateInfo, getExtendedUpdateInfo2, getFileLocations } from './extended.ts';
import { getAuthorizationCookie, getConfig, getCookie, registerComputer } from './handshake.ts';
import { defineReportingService } from './reporting.ts';
import { refreshCache, startCategoryScan, syncPrinterCatalog, syncUpdates } from './sync.ts';
import { CLIENT_NS, CLIENT_PATH, MONITORABLE_NS, SIMPLE_AUTH_NS, SIMPLE_AUTH_PATH } from './wire.ts';

export type { ClientDeps, ClientSettings } from './context.ts';
export { ClientContext } from './context.ts';

export { CLIENT_PATH, SIMPLE_AUTH_PATH, CLIENT_NS, SIMPLE_AUTH_NS } from './wire.ts';
export { REPORTING_PATHS, REPORTING_NS } from './reporting.ts';

function ping(ctx: ClientContext, serviceName: string): SoapHandler {
  return (_op, request) =>
    request.result((x) => x.element('SuccessFlag', true).element('ServicesTime', ctx.now()).element('ServicesName', serviceName));
}

export function defineClientServices(ctx: ClientContext): { client: SoapService; simpleAuth: SoapService; reporting: SoapService } {
  const client = defineSoapService({
    name: 'ClientWebService',
    paths: [CLIENT_PATH],
    namespace: CLIENT_NS,
    style: 'wcf',
    operationNamespaces: { Ping: MONITORABLE_NS },
    operations: {
      GetConfig: getConfig(ctx),
      GetCookie: getCookie(ctx),
      RegisterComputer: registerComputer(ctx),
      StartCategoryScan: startCategoryScan(ctx),
      SyncUpdates: syncUpdates(ctx),
      SyncPrinterCatalog: syncPrinterCatalog(ctx),
      RefreshCache: refreshCache(ctx),
      GetExtendedUpdateInfo: getExtendedUpdateInfo(ctx),
      GetExtendedUpdateInfo2: getExtendedUpdateInfo2(ctx),
      GetFileLocations: getFileLocations(ctx),
      Ping: ping(ctx, 'ClientWebService'),
    },
  });
  const simpleAuth = defineSoapService({
    name: 'SimpleAuthWebService',
    paths: [SIMPLE_AUTH_PATH],
    namespace: SIMPLE_AUTH_NS,
    operationNamespaces: { Ping: MONITORABLE_NS },
    operations: {
      GetAuthorizationCookie: getAuthorizationCookie(ctx),
      Ping: ping(ctx, 'SimpleAuthWebService'),
    },
  });
  return { client, simpleAuth, reporting: defineReportingService(ctx) };
}

/**
 * Registers the client services on one fastify instance (call it for each listener). Everything
 * they keep lives in the store, so every front end of a shared database serves the same clients.
 */
export async function registerClientServices(app: FastifyInstance, deps: ClientDeps | ClientContext): Promise<void> {
  const { client, simpleAuth, reporting } = defineClientServices(deps instanceof ClientContext ? deps : new ClientContext(deps));
  await registerSoapService(app, client);
  await registerSoapService(app, simpleAuth);
  await registerSoapService(app, reporting);
}
