// ReportEventBatch: the real agent's events (fixtures wsus-m0-reports) as the wire carries them,
// stored once per EventInstanceID, with the status they imply; the rollup operations sharing the
// path still answer "not implemented".
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { statusFromEvent } from '../../src/domain/client-event.ts';
import { forEachBackend } from '../support/db.ts';
import { readFixtureText } from '../support/fixtures.ts';
import { CLIENT_ID, clientHandshake, cookieXml, faultCode, withClientServer, type ClientServer, type ClientCookie } from './client-harness.ts';
import { textAt } from './xml-shape.ts';
import { test } from 'node:test';

interface NativeEvent {
  namespace_id: number;
  event_id: number;
  source_id: number;
  win32_hresult: number;
  update: string;
  basic_app_name: string;
  replacement_strings: string[];
  misc_data: string[];
  time_at_target: string;
}

const NATIVE = JSON.parse(readFixtureText('wsus-m0-reports', 'native-install-events.json')) as { batches: { events: NativeEvent[] }[] };
const LISTS = JSON.parse(readFixtureText('wsus-m0-reports', 'native-156-lists.json')) as { native: { U: string[]; V: string[] } };

const REPORTING_NS = 'http://www.microsoft.com/SoftwareDistribution';

/** A ReportingEvent element as the agent writes it; the summarized 156 lists get the real ids back. */
function eventXml(e: NativeEvent, instanceId: string): string {
  const [updateId, revision] = e.update.split('@');
  const misc = e.misc_data.filter((m) => !/^[UV]=/.test(m));
  // The fixture keeps the sizes of the two lists only; the agent puts them after T= (native-156-lists.json).
  if (e.event_id === 156) misc.splice(misc.findIndex((m) => m.startsWith('T=')) + 1, 0, `U=${LISTS.native.U.join(';')}`, `V=${LISTS.native.V.join(';')}`);
  const strings = (name: string, list: string[]) => `<${name}>${list.map((s) => `<string>${s}</string>`).join('')}</${name}>`;
  return (
    `<ReportingEvent><BasicData><TargetID><Sid>${CLIENT_ID}</Sid></TargetID><SequenceNumber>0</SequenceNumber><TimeAtTarget>${e.time_at_target}</TimeAtTarget>` +
    `<EventInstanceID>${instanceId}</EventInstanceID><NamespaceID>${e.namespace_id}</NamespaceID><EventID>${e.event_id}</EventID><SourceID>${e.source_id}</SourceID>` +
    `<UpdateID><UpdateID>${updateId}</UpdateID><RevisionNumber>${revision}</RevisionNumber></UpdateID><Win32HResult>${e.win32_hresult}</Win32HResult><AppName>${e.basic_app_name}</AppName></BasicData>` +
    `<ExtendedData>${strings('ReplacementStrings', e.replacement_strings)}${strings('MiscData', misc)}<ComputerBrand>QEMU</ComputerBrand><ComputerModel>Standard PC</ComputerModel>` +
    `<BiosRevision>unknown</BiosRevision><ProcessorArchitecture>Amd64Compatible</ProcessorArchitecture><OSVersion><Major>10</Major><Minor>0</Minor><Build>26200</Build><Revision>65792</Revision><ServicePackMajor>0</ServicePackMajor><ServicePackMinor>0</ServicePackMinor></OSVersion><OSLocaleID>1033</OSLocaleID><DeviceID /></ExtendedData><PrivateData /></ReportingEvent>`
  );
}

function report(server: ClientServer, cookie: ClientCookie, events: string[]) {
  const body = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><ReportEventBatch xmlns="${REPORTING_NS}">${cookieXml(cookie)}<clientTime>${new Date().toISOString()}</clientTime><eventBatch>${events.join('')}</eventBatch></ReportEventBatch></s:Body></s:Envelope>`;
  return server.post('/ReportingWebService/ReportingWebService.asmx', `${REPORTING_NS}/ReportEventBatch`, body);
}

test('event 156 lists give NotInstalled and Installed; 182, 183, 184 give the event update its status', () => {
  const batch = NATIVE.batches[0]!.events;
  const e156 = batch.find((e) => e.event_id === 156)!;
  const r = statusFromEvent({
    eventInstanceId: randomUUID(),
    namespaceId: 1,
    eventId: 156,
    sourceId: 101,
    updateId: '00000000-0000-0000-0000-000000000000',
    revisionNumber: 0,
    win32HResult: 0,
    appName: '',
    timeAtTarget: e156.time_at_target,
    replacementStrings: [],
    miscData: [`U=${LISTS.native.U.join(';')}`, `V=${LISTS.native.V.join(';')}`, 'AppName=x'],
  })!;
  assert.equal(r.replacesAll, true);
  assert.equal(r.changes.filter((c) => c.status === 'NotInstalled').length, LISTS.native.U.length);
  assert.equal(r.changes.filter((c) => c.status === 'Installed').length, LISTS.native.V.length);
  assert.ok(r.changes.every((c) => c.updateId === c.updateId.toLowerCase()));
});

forEachBackend('ReportEventBatch stores the real events once each and the status they imply', async ({ store }) => {
  await withClientServer(store, async (server) => {
    const { cookie } = await clientHandshake(server);
    const first = NATIVE.batches[0]!.events.map((e) => ({ e, id: randomUUID() }));
    const answer = await report(server, cookie, first.map(({ e, id }) => eventXml(e, id)));
    assert.equal(answer.status, 200, answer.text);
    assert.equal(textAt(answer.root, 'Body/ReportEventBatchResponse/ReportEventBatchResult'), 'true');
    // The agent resends a batch it is unsure of: nothing doubles.
    await report(server, cookie, first.map(({ e, id }) => eventXml(e, id)));
    const stored = await store.clientEvents.ofComputer(CLIENT_ID);
    assert.deepEqual(stored.map((s) => s.eventId).sort(), first.map(({ e }) => e.event_id).sort());
    const e156 = stored.find((s) => s.eventId === 156)!;
    assert.ok(e156.miscData.some((m) => m.startsWith('U=')));

    const status = await store.clientEvents.statusOf(CLIENT_ID);
    assert.equal(status.size, LISTS.native.U.length + LISTS.native.V.length);
    // Listed as needed by the 156, then downloaded (162) in the same batch.
    assert.equal(status.get('88661612-7dd9-49d4-bb34-1e54802c99b9'), 'Downloaded');

    // The install of the third batch fails: 182 for its update.
    const failed = NATIVE.batches[3]!.events[0]!;
    await report(server, cookie, [eventXml(failed, randomUUID())]);
    assert.equal((await store.clientEvents.statusOf(CLIENT_ID)).get(failed.update.split('@')[0]!), 'Failed');
    assert.ok((await store.computers.get(CLIENT_ID))!.lastReportAt !== undefined);

    assert.equal(faultCode(await report(server, { ...cookie, data: 'AAAA' }, [])), 'InvalidCookie');
    const rollup = await server.post(
      '/ReportingWebService/WebService.asmx',
      `${REPORTING_NS}/GetRollupConfiguration`,
      `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetRollupConfiguration xmlns="${REPORTING_NS}" /></s:Body></s:Envelope>`,
    );
    // The rollup operations share the path (services/reporting/rollup.ts).
    assert.equal(rollup.status, 200);
    assert.match(rollup.text, /<DoDetailedRollup>true<\/DoDetailedRollup>/);
  });
});
