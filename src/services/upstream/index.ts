// The upstream role (DESIGN §1): the Server Sync and DSS Auth SOAP services a downstream WSUS or
// openwsus synchronizes from, answered from the store.
//
//   await registerUpstreamServices(app, { store });
//
// registers POST (and GET) on /ServerSyncWebService/ServerSyncWebService.asmx and
// /DssAuthWebService/DssAuthWebService.asmx on `app`, once per listener.
import type { FastifyInstance } from 'fastify';
import { defineSoapService, registerSoapService, type SoapHandler, type SoapService } from '../../soap/index.ts';
import { getAuthConfig, getAuthorizationCookie, getCookie } from './authorization.ts';
import { getConfigData } from './config-data.ts';
import { downloadFiles, getUpdateDecryptionData } from './content.ts';
import { UpstreamContext, type UpstreamDeps } from './context.ts';
import { getDeployments } from './deployments.ts';
import { getDriverIdList, getDriverSetData } from './drivers.ts';
import { getRelatedRevisionsForUpdates, getRevisionIdList } from './revision-list.ts';
import { getUpdateData } from './update-data.ts';
import { DSS_AUTH_NS, DSS_AUTH_PATH, MONITORABLE_NS, SERVER_SYNC_NS, SERVER_SYNC_PATH } from './wire.ts';

export type { UpstreamDeps } from './context.ts';
export { SERVER_SYNC_PATH, DSS_AUTH_PATH, SERVER_SYNC_NS, DSS_AUTH_NS } from './wire.ts';
export { TASK_DOWNSTREAM_LIMIT, TASK_DOWNSTREAM_NOT_ALLOWED } from './admission.ts';

/** IMonitorable's Ping, which every WSUS service carries and no peer calls. */
function ping(ctx: UpstreamContext, serviceName: string): SoapHandler {
  return (_op, request) =>
    request.result((x) => x.element('SuccessFlag', true).element('ServicesTime', ctx.now()).element('ServicesName', serviceName));
}

export function defineUpstreamServices(ctx: UpstreamContext): { serverSync: SoapService; dssAuth: SoapService } {
  const serverSync = defineSoapService({
    name: 'ServerSyncWebService',
    paths: [SERVER_SYNC_PATH],
    namespace: SERVER_SYNC_NS,
    operationNamespaces: { Ping: MONITORABLE_NS },
    operations: {
      GetAuthConfig: getAuthConfig(ctx),
      GetCookie: getCookie(ctx),
      GetConfigData: getConfigData(ctx),
      GetRevisionIdList: getRevisionIdList(ctx),
      GetUpdateData: getUpdateData(ctx),
      GetUpdateDecryptionData: getUpdateDecryptionData(ctx),
      GetDriverIdList: getDriverIdList(ctx),
      GetDriverSetData: getDriverSetData(ctx),
      DownloadFiles: downloadFiles(ctx),
      GetDeployments: getDeployments(ctx),
      GetRelatedRevisionsForUpdates: getRelatedRevisionsForUpdates(ctx),
      Ping: ping(ctx, 'ServerSyncWebService'),
    },
  });
  const dssAuth = defineSoapService({
    name: 'DssAuthWebService',
    paths: [DSS_AUTH_PATH],
    namespace: DSS_AUTH_NS,
    operationNamespaces: { Ping: MONITORABLE_NS },
    operations: {
      GetAuthorizationCookie: getAuthorizationCookie(ctx),
      Ping: ping(ctx, 'DssAuthWebService'),
    },
  });
  return { serverSync, dssAuth };
}

/**
 * Registers the upstream services on one fastify instance (call it for each listener). Needs only
 * the store: keys, downstream servers and settings live there, so every front end of a shared
 * database serves the same downstream servers.
 */
export async function registerUpstreamServices(app: FastifyInstance, deps: UpstreamDeps): Promise<void> {
  const { serverSync, dssAuth } = defineUpstreamServices(new UpstreamContext(deps));
  await registerSoapService(app, serverSync);
  await registerSoapService(app, dssAuth);
}
