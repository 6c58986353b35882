// The ReportingEvents a Windows Update Agent sends after a scan (WSUS-PROTOCOLS §4.8; the real
// agent's batches in fixtures wsus-m0-reports/native-install-events.json): 147 "detected N
// updates" and 156 client status with the `U=` (applicable, not installed) and `V=` (installed)
// lists of leaf software update ids, upper case, `;`-joined; then per update 167 download
// started, 162 succeeded (`B=<bytes>`) or 161 failed; 181 install started, 183 succeeded or 182 failed.
import { guidOf } from '../catalog/random.ts';
import { formatDateTime, SoapXmlBuilder } from '../soap/index.ts';

export const EVENT_IDS = {
  detected: 147,
  clientStatus: 156,
  downloadFailed: 161,
  downloadSucceeded: 162,
  downloadStarted: 167,
  installStarted: 181,
  installFailed: 182,
  installSucceeded: 183,
} as const;

const ZERO_GUID = '00000000-0000-0000-0000-000000000000';
const APP_NAME = 'openwsus simulator';
/** What the native agent put in every MiscData after the event's own keys. */
const COMMON_MISC = [`AppName=${APP_NAME}`, 'CsiErrorType=0', 'dd=0', 'ff=0', 'DisableDS=1'];

export interface AgentEvent {
  readonly eventId: number;
  readonly update?: { readonly updateId: string; readonly revisionNumber: number } | undefined;
  readonly hresult?: number;
  readonly replacementStrings?: readonly string[];
  /** Event-specific `Key=Value` entries, before the common ones. */
  readonly misc?: readonly string[];
}

export interface Machine {
  readonly clientId: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly osBuild: number;
}

/** 147 and 156, sent together after every scan that reached the server. */
export function scanEvents(needed: number, notInstalled: readonly string[], installed: readonly string[]): AgentEvent[] {
  const list = (ids: readonly string[]) => ids.map((id) => id.toUpperCase()).join(';');
  return [
    { eventId: EVENT_IDS.detected, replacementStrings: [String(needed)], misc: ['C=1', 'k=true'] },
    { eventId: EVENT_IDS.clientStatus, misc: [`G=1507.2601.30012.0`, `U=${list(notInstalled)}`, `V=${list(installed)}`] },
  ];
}

/**
 * The batch as XML; EventInstanceIDs come from (client, scan, position) so a resent batch
 * repeats them, as the agent's do, and the server de-duplicates it.
 */
export function eventBatchXml(machine: Machine, batchKey: string, time: Date, events: readonly AgentEvent[]): string {
  const x = new SoapXmlBuilder();
  const at = formatDateTime(time);
  events.forEach((e, i) => {
    const instance = guidOf('event', machine.clientId, batchKey, i);
    x.start('ReportingEvent')
      .start('BasicData')
      .start('TargetID')
      .element('Sid', machine.clientId)
      .end()
      .element('SequenceNumber', 0)
      .element('TimeAtTarget', at)
      .element('EventInstanceID', instance)
      .element('NamespaceID', 1)
      .element('EventID', e.eventId)
      .element('SourceID', 101)
      .start('UpdateID')
      .element('UpdateID', e.update?.updateId ?? ZERO_GUID)
      .element('RevisionNumber', e.update?.revisionNumber ?? 0)
      .end()
      .element('Win32HResult', e.hresult ?? 0)
      .element('AppName', APP_NAME)
      .end()
      .start('ExtendedData')
      .list('ReplacementStrings', 'string', e.replacementStrings ?? [])
      .list('MiscData', 'string', [...(e.misc ?? []), ...COMMON_MISC])
      .element('ComputerBrand', machine.manufacturer)
      .element('ComputerModel', machine.model)
      .element('BiosRevision', 'unknown')
      .element('ProcessorArchitecture', 'Amd64Compatible')
      .start('OSVersion')
      .element('Major', 10)
      .element('Minor', 0)
      .element('Build', machine.osBuild)
      .element('Revision', 65792)
      .element('ServicePackMajor', 0)
      .element('ServicePackMinor', 0)
      .end()
      .element('OSLocaleID', 1033)
      .empty('DeviceID')
      .end()
      .empty('PrivateData')
      .end();
  });
  return x.xml;
}
