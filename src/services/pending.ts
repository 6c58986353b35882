// Operations of later milestones answer with a SOAP fault that says so, rather than a bare 404;
// docs/protocol-support.md lists them.
import { SoapFault, type SoapHandler } from '../soap/index.ts';

export function notImplemented(service: string, operation: string): SoapHandler {
  return () => {
    throw new SoapFault('InternalServerError', `${service}.${operation} is not implemented by this version of openwsus`);
  };
}
