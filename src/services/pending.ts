// Protocol services of later milestones. Until they land, each of their operations answers with
// a SOAP fault that says so, rather than a bare 404, and docs/protocol-support.md lists them.
import type { FastifyInstance } from 'fastify';
import { defineSoapService, registerSoapService, SoapFault, type SoapHandler } from '../soap/index.ts';

const PENDING: readonly { name: string; paths: string[]; namespace: string; style: 'asmx' | 'wcf'; operations: string[] }[] = [
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
