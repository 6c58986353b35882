// Names and small shapes the upstream services share on the wire (WSUS-PROTOCOLS §2.1, §2.2).
import type { RevisionKey } from '../../domain/update.ts';
import { invalidParameter, SoapFault, type SoapNode, type SoapXmlBuilder } from '../../soap/index.ts';

export const SERVER_SYNC_PATH = '/ServerSyncWebService/ServerSyncWebService.asmx';
export const DSS_AUTH_PATH = '/DssAuthWebService/DssAuthWebService.asmx';
export const SERVER_SYNC_NS = 'http://www.microsoft.com/SoftwareDistribution';
export const DSS_AUTH_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService';
export const MONITORABLE_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/IMonitorable';

/** The one authorization plug-in a WSUS offers downstream servers, and where it is served. */
export const DSS_PLUGIN_ID = 'DssTargeting';
export const DSS_AUTH_SERVICE_URL = 'DssAuthWebService/DssAuthWebService.asmx';

export function writeUpdateIdentity(xml: SoapXmlBuilder, name: string, key: RevisionKey): void {
  xml.start(name).element('UpdateID', key.updateId).element('RevisionNumber', key.revisionNumber).end();
}

/**
 * The items of an array parameter, at most `max` of them. Every problem in it is reported as
 * InvalidParameters naming the parameter, as WSUS does (`updateIds`, not `updateIds.UpdateIdentity`).
 */
export function readList<T>(op: SoapNode, name: string, max: number, read: (item: SoapNode) => T): T[] {
  const node = op.child(name);
  if (node === undefined) throw invalidParameter(name, 'missing');
  const items = node.items();
  if (items.length > max) throw invalidParameter(name, `${items.length} items, more than the ${max} allowed`);
  try {
    return items.map(read);
  } catch (error) {
    if (error instanceof SoapFault) throw invalidParameter(name, error.reason ?? `${error.message} is invalid`);
    throw error;
  }
}

export function readRevisionKey(item: SoapNode): RevisionKey {
  const revisionNumber = item.int('RevisionNumber');
  if (revisionNumber < 0) throw item.invalid('negative revision number');
  return { updateId: item.guid('UpdateID'), revisionNumber };
}

/** Optional text parameter; a nil or absent one is undefined. Problems name the parameter. */
export function readOptionalText(op: SoapNode, name: string): string | undefined {
  try {
    return op.child(name)?.asString();
  } catch {
    throw invalidParameter(name, 'not a simple value');
  }
}
