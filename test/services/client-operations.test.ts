// The client operations beyond the scan loop, and bad input, on every backend: automatic detection
// of Critical and Security updates, GetExtendedUpdateInfo2 and SyncPrinterCatalog, unknown
// revision ids, client-side targeting on a replica, malformed and flooded event batches, the
// statuses events imply, and the event retention limit.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { ReportingEvent } from '../../src/domain/client-event.ts';
import { ALL_COMPUTERS_GROUP_ID as ALL, CLASSIFICATIONS, UNASSIGNED_COMPUTERS_GROUP_ID as UNASSIGNED } from '../../src/domain/wellknown.ts';
import type { Store } from '../../src/store/index.ts';
import { textContent } from '../../src/xml/index.ts';
import { forEachBackend } from '../support/db.ts';
import { guid, makeFile, makeRevision } from '../store/records.ts';
import { CLIENT_ID, clientHandshake, cookieXml, faultCode, withClientServer, type ClientCookie, type ClientServer } from './client-harness.ts';
import { at, elementsAt, textAt } from './xml-shape.ts';

const WORKSTATIONS = 'cccccccc-0000-4000-8000-000000000001';
const U = {
  product: guid(1, 'ops'),
  security: guid(2, 'ops'),
  approved: guid(3, 'ops'),
  unapproved: guid(4, 'ops'),
  critical: guid(5, 'ops'),
} as const;
const FILE = makeFile('windows11.0-kb5000100-x64.cab', 2048);
const REPORTING_NS = 'http://www.microsoft.com/SoftwareDistribution';

/** A product, two classifications, a security update nobody approved, an approved update with a file, an update nobody approved, a critical update. */
async function loadCatalog(store: Store): Promise<Map<keyof typeof U, number>> {
  const inCats = (classification: string) => [{ updateIds: [U.product], isCategory: true }, { updateIds: [classification], isCategory: true }];
  const summary = await store.catalog.upsertRevisions([
    makeRevision({ updateId: U.product, revisionNumber: 10, updateType: 'Category', categoryType: 'Product', title: 'Windows 11' }),
    makeRevision({ updateId: CLASSIFICATIONS.securityUpdates, revisionNumber: 10, updateType: 'Category', categoryType: 'UpdateClassification', title: 'Security Updates' }),
    makeRevision({ updateId: CLASSIFICATIONS.updates, revisionNumber: 10, updateType: 'Category', categoryType: 'UpdateClassification', title: 'Updates' }),
    makeRevision({ updateId: CLASSIFICATIONS.criticalUpdates, revisionNumber: 10, updateType: 'Category', categoryType: 'UpdateClassification', title: 'Critical Updates' }),
    makeRevision({ updateId: U.security, revisionNumber: 20, title: 'Security update', prerequisites: inCats(CLASSIFICATIONS.securityUpdates) }),
    makeRevision({ updateId: U.approved, revisionNumber: 20, title: 'Approved update', prerequisites: inCats(CLASSIFICATIONS.updates), files: [FILE], languages: ['en', 'de'] }),
    makeRevision({ updateId: U.unapproved, revisionNumber: 20, title: 'Unapproved update', prerequisites: inCats(CLASSIFICATIONS.updates) }),
    makeRevision({ updateId: U.critical, revisionNumber: 20, title: 'Critical update', prerequisites: inCats(CLASSIFICATIONS.criticalUpdates) }),
  ]);
  const ids = summary.revisionIds;
  return new Map([
    ['product', ids[0]!],
    ['security', ids[4]!],
    ['approved', ids[5]!],
    ['unapproved', ids[6]!],
    ['critical', ids[7]!],
  ]);
}

/** SyncUpdates rounds until nothing non-leaf comes; everything non-leaf evaluates installed. */
async function scan(server: ClientServer, cookie: ClientCookie): Promise<Map<number, string>> {
  const installed: number[] = [];
  const other: number[] = [];
  const got = new Map<number, string>();
  const ints = (name: string, ids: number[]) => (ids.length === 0 ? '' : `<${name}>${ids.map((i) => `<int>${i}</int>`).join('')}</${name}>`);
  for (let round = 0; round < 10; round++) {
    const answer = await server.call(
      'SyncUpdates',
      `${cookieXml(cookie)}<parameters><ExpressQuery>false</ExpressQuery>${ints('InstalledNonLeafUpdateIDs', installed)}${ints('OtherCachedUpdateIDs', other)}<SkipSoftwareSync>false</SkipSoftwareSync></parameters>`,
    );
    assert.equal(answer.status, 200, answer.text);
    const infos = elementsAt(at(answer.root, 'Body/SyncUpdatesResponse/SyncUpdatesResult')!, 'NewUpdates');
    for (const u of infos) {
      const id = Number(textAt(u, 'ID'));
      got.set(id, textAt(u, 'Deployment/Action')!);
      (textAt(u, 'IsLeaf') === 'true' ? other : installed).push(id);
    }
    if (!infos.some((u) => textAt(u, 'IsLeaf') === 'false') && textAt(answer.root, 'Body/SyncUpdatesResponse/SyncUpdatesResult/Truncated') !== 'true') return got;
  }
  throw new Error('the scan never ended');
}

forEachBackend('detection approval, GetExtendedUpdateInfo2, SyncPrinterCatalog, unknown ids, replica targeting; event batches, statuses, retention', async ({ store }) => {
  const ids = await loadCatalog(store);
  await operations(store, ids);
  await reporting(store);
});

/** Detection approval, GetExtendedUpdateInfo2, SyncPrinterCatalog, unknown ids, and client-side targeting on a replica. */
async function operations(store: Store, ids: Map<keyof typeof U, number>): Promise<void> {
  await store.groups.upsert([{ id: WORKSTATIONS, name: 'Workstations', parentId: ALL, builtin: false }]);
  await store.approvals.upsert([
    { id: randomUUID(), updateId: U.approved, revisionNumber: 20, groupId: WORKSTATIONS, action: 'Install', adminName: 'test', createdAt: new Date().toISOString() },
  ]);
  await store.declines.upsert([{ updateId: U.critical, adminName: 'test', declinedAt: new Date().toISOString() }]);
  // A replica with client-side targeting that may create groups: it still creates none.
  for (const [key, value] of [
    ['clients.targetingMode', 'client'],
    ['clients.createMissingGroups', true],
    ['upstream.source', 'server'],
    ['upstream.server', 'uss.example'],
    ['upstream.replica', true],
  ] as const) {
    await store.settings.set(key, value);
  }
  await withClientServer(store, async (server) => {
    await clientHandshake(server, { clientId: guid(9, 'pc'), targetGroupName: 'Kiosks', register: false });
    assert.deepEqual((await store.computers.get(guid(9, 'pc')))!.groupIds, [UNASSIGNED], 'a group that does not exist stays absent: Unassigned');
    const { cookie } = await clientHandshake(server, { targetGroupName: 'Kiosks;Workstations' });
    assert.deepEqual((await store.computers.get(CLIENT_ID))!.groupIds, [WORKSTATIONS], 'its existing group only');
    assert.deepEqual((await store.groups.list()).map((g) => g.name).sort(), ['All Computers', 'Unassigned Computers', 'Workstations']);

    // Security updates nobody approved are approved for detection; declined critical ones are not offered.
    const offered = await scan(server, cookie);
    assert.equal(offered.get(ids.get('security')!), 'PreDeploymentCheck');
    assert.equal(offered.get(ids.get('approved')!), 'Install');
    assert.equal(offered.has(ids.get('unapproved')!), false);
    assert.equal(offered.has(ids.get('critical')!), false);

    // GetExtendedUpdateInfo: unknown and undeployed revision ids come back out of scope.
    const approved = ids.get('approved')!;
    const ext = await server.call(
      'GetExtendedUpdateInfo',
      `${cookieXml(cookie)}<revisionIDs><int>${approved}</int><int>999999</int><int>-1</int><int>${ids.get('unapproved')}</int></revisionIDs><infoTypes><XmlUpdateFragmentType>Extended</XmlUpdateFragmentType></infoTypes><locales><string>en</string></locales>`,
    );
    assert.equal(ext.status, 200, ext.text);
    const extResult = at(ext.root, 'Body/GetExtendedUpdateInfoResponse/GetExtendedUpdateInfoResult')!;
    assert.deepEqual(elementsAt(extResult, 'Updates').map((u) => Number(textAt(u, 'ID'))), [approved]);
    assert.deepEqual(elementsAt(extResult, 'OutOfScopeRevisionIDs').map((e) => Number(textContent(e))).sort((a, b) => a - b), [-1, ids.get('unapproved')!, 999999].sort((a, b) => a - b));

    // SyncUpdates: a cached revision id this server never gave goes out of scope; RefreshCache skips unknown identities.
    const evaluated = [...offered].filter(([, action]) => action === 'Evaluate').map(([id]) => id);
    assert.ok(evaluated.includes(ids.get('product')!));
    const cached = await server.call(
      'SyncUpdates',
      `${cookieXml(cookie)}<parameters><ExpressQuery>false</ExpressQuery><InstalledNonLeafUpdateIDs>${evaluated.map((id) => `<int>${id}</int>`).join('')}</InstalledNonLeafUpdateIDs><OtherCachedUpdateIDs><int>${approved}</int><int>999999</int></OtherCachedUpdateIDs><SkipSoftwareSync>false</SkipSoftwareSync></parameters>`,
    );
    assert.equal(cached.status, 200, cached.text);
    const outOfScope = elementsAt(at(cached.root, 'Body/SyncUpdatesResponse/SyncUpdatesResult')!, 'OutOfScopeRevisionIDs').map((e) => Number(textContent(e)));
    assert.ok(outOfScope.includes(999999) && !outOfScope.includes(approved), `out of scope: ${outOfScope}`);
    const refreshed = await server.call(
      'RefreshCache',
      `${cookieXml(cookie)}<globalIDs><UpdateIdentity><UpdateID>${guid(78, 'nobody')}</UpdateID><RevisionNumber>1</RevisionNumber></UpdateIdentity><UpdateIdentity><UpdateID>${U.approved}</UpdateID><RevisionNumber>20</RevisionNumber></UpdateIdentity></globalIDs>`,
    );
    assert.deepEqual(elementsAt(at(refreshed.root, 'Body/RefreshCacheResponse')!, 'RefreshCacheResult').map((r) => Number(textAt(r, 'RevisionID'))), [approved]);

    // GetExtendedUpdateInfo2: by identity; wrong revision, unknown and undeployed identities left out.
    const identity = (id: string, rev: number) => `<UpdateIdentity><UpdateID>${id}</UpdateID><RevisionNumber>${rev}</RevisionNumber></UpdateIdentity>`;
    const ext2 = (inner: string, withCookie = true) =>
      server.call(
        'GetExtendedUpdateInfo2',
        `${withCookie ? cookieXml(cookie) : ''}<updateIDs>${inner}</updateIDs><infoTypes><XmlUpdateFragmentType>Extended</XmlUpdateFragmentType><XmlUpdateFragmentType>LocalizedProperties</XmlUpdateFragmentType><XmlUpdateFragmentType>FileUrl</XmlUpdateFragmentType></infoTypes><locales><string>de-DE</string></locales>`,
      );
    const two = await ext2(identity(U.approved, 20) + identity(U.approved.toUpperCase(), 20) + identity(U.security, 19) + identity(guid(77, 'nobody'), 1) + identity(U.unapproved, 20));
    assert.equal(two.status, 200, two.text);
    const result = at(two.root, 'Body/GetExtendedUpdateInfo2Response/GetExtendedUpdateInfo2Result')!;
    const updates = elementsAt(result, 'Updates');
    assert.deepEqual(updates.map((u) => Number(textAt(u, 'ID'))), [approved, approved], 'Extended, then the de localized properties');
    assert.match(textAt(updates[0]!, 'Xml')!, /^<ExtendedProperties/);
    assert.match(textAt(updates[1]!, 'Xml')!, /<Language>de<\/Language>/);
    const locations = elementsAt(result, 'FileLocations');
    assert.deepEqual(locations.map((l) => textAt(l, 'FileDigest')), [FILE.sha1]);
    assert.equal(textAt(locations[0]!, 'Url'), `${server.origin}/Content/${Buffer.from(FILE.sha1, 'base64').toString('hex').slice(-2).toUpperCase()}/${Buffer.from(FILE.sha1, 'base64').toString('hex').toUpperCase()}.cab`);
    assert.equal(at(result, 'OutOfScopeRevisionIDs'), undefined);
    assert.equal(faultCode(await ext2(identity('not-a-guid', 1))), 'InvalidParameters');
    assert.equal(faultCode(await ext2(identity(U.approved, 20), false)), 'InvalidCookie');

    // SyncPrinterCatalog: no printer drivers, so an empty catalog; what the client caches goes.
    const printers = await server.call('SyncPrinterCatalog', `${cookieXml(cookie)}<installedNonLeafUpdateIDs><int>${ids.get('product')}</int></installedNonLeafUpdateIDs><printerUpdateIDs><int>5</int><int>6</int><int>5</int></printerUpdateIDs>`);
    assert.equal(printers.status, 200, printers.text);
    const catalog = at(printers.root, 'Body/SyncPrinterCatalogResponse/SyncPrinterCatalogResult')!;
    assert.equal(at(catalog, 'NewUpdates'), undefined);
    assert.deepEqual(elementsAt(catalog, 'OutOfScopeRevisionIDs').map((e) => textContent(e)), ['5', '6']);
    assert.equal(textAt(catalog, 'Truncated'), 'false');
    assert.ok(textAt(catalog, 'NewCookie/EncryptedData'));
    const tooMany = Array.from({ length: 401 }, (_, i) => `<int>${i}</int>`).join('');
    assert.equal(faultCode(await server.call('SyncPrinterCatalog', `${cookieXml(cookie)}<installedNonLeafUpdateIDs>${tooMany}</installedNonLeafUpdateIDs>`)), 'InvalidParameters');
    assert.equal(faultCode(await server.call('SyncPrinterCatalog', '')), 'InvalidCookie');
  });
}

function eventXml(e: Partial<ReportingEvent> & { eventId: number }, raw: { instance?: string; time?: string } = {}): string {
  const misc = (e.miscData ?? []).map((m) => `<string>${m}</string>`).join('');
  return (
    `<ReportingEvent><BasicData><TargetID><Sid>${CLIENT_ID}</Sid></TargetID><SequenceNumber>0</SequenceNumber><TimeAtTarget>${raw.time ?? e.timeAtTarget ?? '2026-11-20T10:00:00Z'}</TimeAtTarget>` +
    `<EventInstanceID>${raw.instance ?? e.eventInstanceId ?? randomUUID()}</EventInstanceID><NamespaceID>1</NamespaceID><EventID>${e.eventId}</EventID><SourceID>101</SourceID>` +
    `<UpdateID><UpdateID>${e.updateId ?? '00000000-0000-0000-0000-000000000000'}</UpdateID><RevisionNumber>${e.revisionNumber ?? 0}</RevisionNumber></UpdateID><Win32HResult>${e.win32HResult ?? 0}</Win32HResult><AppName>test</AppName></BasicData>` +
    `<ExtendedData><ReplacementStrings /><MiscData>${misc}</MiscData></ExtendedData><PrivateData /></ReportingEvent>`
  );
}

function report(server: ClientServer, cookie: ClientCookie, events: string[]) {
  const body = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><ReportEventBatch xmlns="${REPORTING_NS}">${cookieXml(cookie)}<clientTime>${new Date().toISOString()}</clientTime><eventBatch>${events.join('')}</eventBatch></ReportEventBatch></s:Body></s:Envelope>`;
  return server.post('/ReportingWebService/ReportingWebService.asmx', `${REPORTING_NS}/ReportEventBatch`, body);
}

/** Event batches: malformed ones refused whole, floods stored once, statuses as events tell, old events beyond retention. */
async function reporting(store: Store): Promise<void> {
  await withClientServer(store, async (server) => {
    const { cookie } = await clientHandshake(server);
    const count = async () => (await store.clientEvents.ofComputer(CLIENT_ID, { limit: 100_000 })).length;

    // One malformed event spoils its batch: a fault naming the parameter, nothing stored.
    for (const bad of [
      eventXml({ eventId: 162 }, { instance: 'not-a-guid' }),
      eventXml({ eventId: 162 }, { time: 'yesterday' }),
      '<ReportingEvent><ExtendedData /></ReportingEvent>',
      eventXml({ eventId: 162 }).replace('<EventID>162</EventID>', '<EventID>x</EventID>'),
    ]) {
      const answer = await report(server, cookie, [eventXml({ eventId: 147 }), bad]);
      assert.equal(answer.status, 500, bad);
      assert.equal(faultCode(answer), 'InvalidParameters', bad);
      assert.equal(textAt(answer.root, 'Body/Fault/detail/Message'), 'eventBatch');
    }
    assert.equal(await count(), 0);

    // A flood: one event 400 times in a batch, the batch three times: stored once.
    const instance = randomUUID();
    const flood = Array.from({ length: 400 }, () => eventXml({ eventId: 147 }, { instance }));
    for (let i = 0; i < 3; i++) assert.equal((await report(server, cookie, flood)).status, 200);
    assert.equal(await count(), 1);

    // Statuses: the status report, a download, a reboot-pending install, a failed install.
    const s156 = (u: string[], v: string[], time: string) => eventXml({ eventId: 156, miscData: [`U=${u.join(';')}`, `V=${v.join(';')}`], timeAtTarget: time });
    const on = (eventId: number, updateId: string, time: string, win32HResult = 0) => eventXml({ eventId, updateId, revisionNumber: 20, timeAtTarget: time, win32HResult });
    // Sent out of order on purpose: the server applies them by time at the client.
    await report(server, cookie, [
      on(162, U.approved, '2026-11-20T10:02:00Z'),
      s156([U.approved, U.security.toUpperCase(), U.unapproved], [], '2026-11-20T10:01:00Z'),
      on(161, U.unapproved, '2026-11-20T10:03:00Z', -2146762487),
    ]);
    const status = async () => Object.fromEntries(await store.clientEvents.statusOf(CLIENT_ID));
    assert.deepEqual(await status(), { [U.approved]: 'Downloaded', [U.security]: 'NotInstalled', [U.unapproved]: 'Failed' });
    await report(server, cookie, [on(201, U.approved, '2026-11-20T10:04:00Z', 0x00240005)]);
    assert.equal((await status())[U.approved], 'InstalledPendingReboot');
    await report(server, cookie, [s156([U.unapproved], [U.approved], '2026-11-20T11:00:00Z')]);
    assert.deepEqual(await status(), { [U.approved]: 'Installed', [U.unapproved]: 'Failed' }, 'the security update is not applicable any more');
    const rows = await store.clientEvents.statusOfUpdate(U.security);
    // Reported without it: not applicable; the computer of the first part never reported: unknown.
    assert.deepEqual(new Map(rows.map((r) => [r.computerId, [r.status, r.reported]])), new Map([[CLIENT_ID, [undefined, true]], [guid(9, 'pc'), [undefined, false]]]));
    assert.ok((await store.computers.get(CLIENT_ID))!.lastReportAt);
  });

  // Retention: a computer keeps its newest events; one older than all it keeps is not taken again.
  const computer = guid(5, 'retention');
  const ev = (minute: number): ReportingEvent => ({
    eventInstanceId: guid(minute, 'retained-event'),
    namespaceId: 1,
    eventId: 147,
    sourceId: 101,
    updateId: '00000000-0000-0000-0000-000000000000',
    revisionNumber: 0,
    win32HResult: 0,
    appName: 'test',
    timeAtTarget: `2026-11-20T10:${String(minute).padStart(2, '0')}:00.000Z`,
    replacementStrings: [],
    miscData: [],
  });
  assert.equal((await store.clientEvents.record(computer, [1, 2, 3, 4, 5, 6, 7, 8].map(ev), 5)).length, 8);
  const kept = await store.clientEvents.ofComputer(computer);
  assert.deepEqual(kept.map((e) => e.timeAtTarget.slice(14, 16)), ['04', '05', '06', '07', '08']);
  assert.deepEqual(await store.clientEvents.record(computer, [ev(1), ev(2)], 5), [], 'dropped events resent are not taken again');
  assert.equal((await store.clientEvents.record(computer, [ev(9)], 5)).length, 1);
  assert.equal((await store.clientEvents.ofComputer(computer)).length, 6, 'pruned a tenth past the limit at a time');
}
