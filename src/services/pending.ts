// Protocol services of later milestones. Until they land, each of their operations answers with
// a SOAP fault that says so, rather than a bare 404, and docs/protocol-support.md lists them.
import type { FastifyInstance } from 'fastify';
import { defineSoapService, registerSoapService, SoapFault, type SoapHandler } from '../soap/index.ts';

const SOFTWARE_DISTRIBUTION = 'http://www.microsoft.com/SoftwareDistribution';

const PENDING: readonly { name: string; paths: string[]; namespace: string; style: 'asmx' | 'wcf'; operations: string[] }[] = [
  {
    name: 'ClientWebService',
    paths: ['/ClientWebService/client.asmx'],
    namespace: 'http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService',
    style: 'wcf',
    operations: ['GetConfig', 'GetCookie', 'RegisterComputer', 'StartCategoryScan', 'SyncUpdates', 'SyncPrinterCatalog', 'RefreshCache', 'GetExtendedUpdateInfo', 'GetExtendedUpdateInfo2', 'GetFileLocations'],
  },
  {
    name: 'SimpleAuthWebService',
    paths: ['/SimpleAuthWebService/SimpleAuth.asmx'],
    namespace: 'http://www.microsoft.com/SoftwareDistribution/Server/SimpleAuthWebService',
    style: 'asmx',
    operations: ['GetAuthorizationCookie'],
  },
  {
    name: 'ReportingWebService',
    paths: ['/ReportingWebService/ReportingWebService.asmx', '/ReportingWebService/WebService.asmx'],
    namespace: SOFTWARE_DISTRIBUTION,
    style: 'asmx',
    operations: ['ReportEventBatch', 'GetRollupConfiguration', 'RollupDownstreamServers', 'RollupComputers', 'GetOutOfSyncComputers', 'RollupComputerStatus'],
  },
];

function notYet(service: string, operation: string): SoapHandler {
  return () => {
    throw new SoapFault('InternalServerError', `${service}.${operation} is not implemented by this version of openwsus`);
  };
}

export async function registerPendingServices(app: FastifyInstance): Promise<void> {
  for (const service of PENDING) {
    await registerSoapService(
      app,
      defineSoapService({
        name: service.name,
        paths: service.paths,
        namespace: service.namespace,
        style: service.style,
        operations: Object.fromEntries(service.operations.map((op) => [op, notYet(service.name, op)])),
      }),
    );
  }
}
