// The client services against a small hand-built catalog, on every backend: the handshake and
// targeting, an approved bundle reaching a computer of the right group over the rounds a real agent
// makes, declines and changed approvals reaching it later, the fragments and file locations it then
// asks for, and the faults a bad cookie or request earns.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ContentStore } from '../../src/content/index.ts';
import { sealPayload } from '../../src/domain/cookie.ts';
import type { Approval } from '../../src/domain/deployment.ts';
import { ALL_COMPUTERS_GROUP_ID as ALL, CLASSIFICATIONS, UNASSIGNED_COMPUTERS_GROUP_ID as UNASSIGNED } from '../../src/domain/wellknown.ts';
import { contentPath } from '../../src/domain/update.ts';
import type { Store } from '../../src/store/index.ts';
import { forEachBackend } from '../support/db.ts';
import { guid, makeFile, makeRevision } from '../store/records.ts';
import { CLIENT_ID, clientHandshake, cookieXml, faultCode, withClientServer, type ClientCookie, type ClientServer } from './client-harness.ts';
import { childElements, textContent } from '../../src/xml/index.ts';
import { at, elementsAt, textAt } from './xml-shape.ts';

const WORKSTATIONS = 'aaaaaaaa-0000-4000-8000-000000000001';
const SERVERS = 'aaaaaaaa-0000-4000-8000-000000000002';

const U = {
  product: guid(1, 'client'),
  detectoid: guid(2, 'client'),
  ssu: guid(3, 'client'),
  bundle: guid(4, 'client'),
  child: guid(5, 'client'),
  other: guid(6, 'client'),
} as const;
type Name = keyof typeof U;

const CHILD_FILE = makeFile('windows11.0-kb5000001-x64.cab', 4096);

/** A product and a classification, a detectoid, a servicing stack the bundle requires, the bundle and its child, an unrelated update. */
async function loadCatalog(store: Store): Promise<Map<Name | 'security', number>> {
  const summary = await store.catalog.upsertRevisions([
    makeRevision({ updateId: U.product, revisionNumber: 100, updateType: 'Category', categoryType: 'Product', title: 'Windows 11' }),
    makeRevision({ updateId: CLASSIFICATIONS.updates, revisionNumber: 100, updateType: 'Category', categoryType: 'UpdateClassification', title: 'Updates' }),
    makeRevision({ updateId: U.detectoid, revisionNumber: 100, updateType: 'Detectoid', title: 'x64' }),
    makeRevision({
      updateId: U.ssu,
      revisionNumber: 200,
      title: 'Servicing stack',
      prerequisites: [{ updateIds: [U.detectoid], isCategory: false }, { updateIds: [U.product], isCategory: true }, { updateIds: [CLASSIFICATIONS.updates], isCategory: true }],
    }),
    makeRevision({
      updateId: U.bundle,
      revisionNumber: 200,
      title: 'Cumulative update',
      prerequisites: [{ updateIds: [U.ssu], isCategory: false }, { updateIds: [U.product], isCategory: true }, { updateIds: [CLASSIFICATIONS.updates], isCategory: true }],
      bundles: [{ members: [{ updateId: U.child, revisionNumber: 200 }], atLeastOne: false }],
    }),
    makeRevision({
      updateId: U.child,
      revisionNumber: 200,
      title: 'Cumulative update (x64)',
      prerequisites: [{ updateIds: [U.detectoid], isCategory: false }],
      files: [CHILD_FILE],
      languages: ['en', 'de'],
    }),
    makeRevision({
      updateId: U.other,
      revisionNumber: 200,
      title: 'Other update',
      prerequisites: [{ updateIds: [U.product], isCategory: true }, { updateIds: [CLASSIFICATIONS.updates], isCategory: true }],
    }),
  ]);
  const [product, security, detectoid, ssu, bundle, child, other] = summary.revisionIds;
  return new Map([
    ['product', product!],
    ['security', security!],
    ['detectoid', detectoid!],
    ['ssu', ssu!],
    ['bundle', bundle!],
    ['child', child!],
    ['other', other!],
  ]);
}

function approval(update: Name, groupId: string, action: Approval['action'], extra: Partial<Approval> = {}): Approval {
  return {
    id: guid(Math.floor(Math.random() * 1e9), 'approval'),
    updateId: U[update],
    revisionNumber: 200,
    groupId,
    action,
    adminName: 'test',
    createdAt: new Date().toISOString(),
    ...extra,
  };
}

async function setup(store: Store): Promise<Map<Name | 'security', number>> {
  await store.groups.upsert([
    { id: WORKSTATIONS, name: 'Workstations', parentId: ALL, builtin: false },
    { id: SERVERS, name: 'Servers', parentId: ALL, builtin: false },
  ]);
  return loadCatalog(store);
}

interface Info {
  id: number;
  action: string;
  leaf: boolean;
  deadline?: string;
  xml?: string;
}

interface Round {
  newUpdates: Info[];
  changed: Info[];
  outOfScope: number[];
  truncated: boolean;
  cookie: ClientCookie;
}

function infos(elements: ReturnType<typeof elementsAt>): Info[] {
  return elements.map((u) => {
    const deadline = textAt(u, 'Deployment/Deadline');
    const xml = textAt(u, 'Xml');
    return {
      id: Number(textAt(u, 'ID')),
      action: textAt(u, 'Deployment/Action')!,
      leaf: textAt(u, 'IsLeaf') === 'true',
      ...(deadline !== undefined ? { deadline } : {}),
      ...(xml !== undefined ? { xml } : {}),
    };
  });
}

async function sync(server: ClientServer, cookie: ClientCookie, installed: number[], other: number[], extra = ''): Promise<Round> {
  const ints = (name: string, ids: number[]) => (ids.length === 0 ? '' : `<${name}>${ids.map((i) => `<int>${i}</int>`).join('')}</${name}>`);
  const answer = await server.call(
    'SyncUpdates',
    `${cookieXml(cookie)}<parameters><ExpressQuery>false</ExpressQuery>${ints('InstalledNonLeafUpdateIDs', installed)}${ints('OtherCachedUpdateIDs', other)}<SkipSoftwareSync>false</SkipSoftwareSync>${extra}</parameters>`,
  );
  assert.equal(answer.status, 200, answer.text);
  const result = at(answer.root, 'Body/SyncUpdatesResponse/SyncUpdatesResult')!;
  return {
    newUpdates: infos(elementsAt(result, 'NewUpdates')),
    changed: infos(elementsAt(result, 'ChangedUpdates')),
    outOfScope: elementsAt(result, 'OutOfScopeRevisionIDs').map((e) => Number(textContent(e))),
    truncated: textAt(result, 'Truncated') === 'true',
    cookie: { expiration: textAt(result, 'NewCookie/Expiration')!, data: textAt(result, 'NewCookie/EncryptedData')! },
  };
}

/** An agent's scan: call again while truncated or while a non-leaf revision came; everything non-leaf evaluates installed. */
async function scan(server: ClientServer, start: ClientCookie, held: { installed: number[]; other: number[] } = { installed: [], other: [] }) {
  const installed = [...held.installed];
  const other = [...held.other];
  const rounds: Round[] = [];
  let cookie = start;
  for (let guard = 0; guard < 20; guard++) {
    const round = await sync(server, cookie, installed, other);
    rounds.push(round);
    cookie = round.cookie;
    const dropped = new Set(round.outOfScope);
    for (const list of [installed, other]) for (let k = list.length - 1; k >= 0; k--) if (dropped.has(list[k]!)) list.splice(k, 1);
    for (const u of round.newUpdates) (u.leaf ? other : installed).push(u.id);
    if (!round.truncated && !round.newUpdates.some((u) => !u.leaf)) return { rounds, installed, other, cookie };
  }
  throw new Error('the scan never ended');
}

forEachBackend('client handshake: GetConfig, SimpleAuth records the computer in Unassigned Computers, GetCookie, RegisterComputer', async ({ store }) => {
  await withClientServer(store, async (server) => {
    const config = await server.call('GetConfig', '<protocolVersion>2.90</protocolVersion>');
    assert.equal(config.status, 200);
    assert.deepEqual(
      elementsAt(at(config.root, 'Body/GetConfigResponse/GetConfigResult')!, 'Properties').map((p) => `${textAt(p, 'Name')}=${textAt(p, 'Value') ?? ''}`),
      ['MaxExtendedUpdatesPerRequest=50', 'PackageServerShare=', 'ProtocolVersion=3.2', 'IsInventoryRequired=0', 'ClientReportingLevel=2'],
    );
    assert.equal(textAt(config.root, 'Body/GetConfigResponse/GetConfigResult/IsRegistrationRequired'), 'true');
    const { cookie } = await clientHandshake(server);
    assert.ok(cookie.data.length > 40);
    const expires = Date.parse(cookie.expiration) - Date.now();
    assert.ok(expires > 59 * 60_000 && expires <= 60 * 60_000 + 1000, 'a cookie lives one hour');
    const computer = (await store.computers.get(CLIENT_ID))!;
    assert.equal(computer.dnsName, 'pc1.lab.invalid');
    assert.deepEqual(computer.groupIds, [UNASSIGNED]);
    assert.equal(computer.osBuild, 26200);
    assert.equal(computer.processorArchitecture, 'AMD64');
    assert.equal(computer.clientVersion, '1507.2601.30012.0');
    assert.equal(computer.ipAddress, '127.0.0.1');
    assert.ok(computer.registeredAt !== undefined);
  });
});

forEachBackend('client-side targeting puts a computer in the groups it names, creating them only when allowed', async ({ store }) => {
  await store.groups.upsert([{ id: WORKSTATIONS, name: 'Workstations', parentId: ALL, builtin: false }]);
  await withClientServer(store, async (server) => {
    await clientHandshake(server, { clientId: guid(1, 'pc'), targetGroupName: 'workstations' });
    assert.deepEqual((await store.computers.get(guid(1, 'pc')))!.groupIds, [UNASSIGNED], 'server-side targeting ignores the name');
    await store.settings.set('clients.targetingMode', 'client');
    await clientHandshake(server, { clientId: guid(1, 'pc'), targetGroupName: 'workstations' });
    assert.deepEqual((await store.computers.get(guid(1, 'pc')))!.groupIds, [WORKSTATIONS]);
    await clientHandshake(server, { clientId: guid(2, 'pc'), targetGroupName: 'Kiosks' });
    assert.deepEqual((await store.computers.get(guid(2, 'pc')))!.groupIds, [UNASSIGNED]);
    assert.equal((await store.groups.list()).some((g) => g.name === 'Kiosks'), false);
    await store.settings.set('clients.createMissingGroups', true);
    await clientHandshake(server, { clientId: guid(2, 'pc'), targetGroupName: 'Kiosks;Workstations' });
    const kiosks = (await store.groups.list()).find((g) => g.name === 'Kiosks')!;
    assert.equal(kiosks.parentId, ALL);
    assert.deepEqual((await store.computers.get(guid(2, 'pc')))!.groupIds, [kiosks.id, WORKSTATIONS].sort());
  });
});

forEachBackend('an approved bundle reaches a computer of its group with its child and prerequisites over the rounds', async ({ store }) => {
  const ids = await setup(store);
  const name = new Map([...ids].map(([k, v]) => [v, k]));
  await store.approvals.upsert([approval('bundle', WORKSTATIONS, 'Install', { deadline: '2026-12-24T18:00:00Z' })]);
  await store.computers.touch({ id: CLIENT_ID, dnsName: 'pc1', groupIds: [WORKSTATIONS], defaultGroupId: UNASSIGNED });
  await withClientServer(store, async (server) => {
    const { cookie } = await clientHandshake(server);
    const { rounds } = await scan(server, cookie);
    const shape = rounds.map((r) => r.newUpdates.map((u) => `${name.get(u.id)} ${u.action}${u.leaf ? ' leaf' : ''}`));
    assert.deepEqual(shape, [
      ['product Evaluate', 'security Evaluate', 'detectoid Evaluate'],
      // The child needs only the detectoid, so it comes as soon as that is installed; the bundle waits for the servicing stack.
      ['ssu Evaluate', 'child Bundle leaf'],
      ['bundle Install leaf'],
    ]);
    const bundle = rounds[2]!.newUpdates[0]!;
    assert.equal(bundle.deadline, '2026-12-24T18:00:00Z');
    assert.match(bundle.xml!, new RegExp(`<UpdateIdentity UpdateID="${U.bundle}" RevisionNumber="200" />`));
    assert.equal(rounds.some((r) => r.newUpdates.some((u) => u.id === ids.get('other'))), false, 'not approved for this group');
    assert.ok((await store.computers.get(CLIENT_ID))!.lastSyncAt !== undefined);

    // Another computer, in another group, gets the categories but not the bundle.
    const second = await clientHandshake(server, { clientId: guid(9, 'pc'), dnsName: 'srv1' });
    const { rounds: others } = await scan(server, second.cookie);
    assert.equal(others.flatMap((r) => r.newUpdates).some((u) => u.id === ids.get('bundle') || u.id === ids.get('child')), false);

    // The Deployment carries the fields of the real answer, in its order.
    const answer = await server.call(
      'SyncUpdates',
      `${cookieXml(cookie)}<parameters><ExpressQuery>false</ExpressQuery><SkipSoftwareSync>false</SkipSoftwareSync></parameters>`,
    );
    const deployment = at(answer.root, 'Body/SyncUpdatesResponse/SyncUpdatesResult/NewUpdates/UpdateInfo/Deployment')!;
    assert.deepEqual(childElements(deployment).map((e) => e.local), ['ID', 'Action', 'IsAssigned', 'LastChangeTime', 'AutoSelect', 'AutoDownload', 'SupersedenceBehavior']);
    assert.match(textAt(deployment, 'LastChangeTime')!, /^\d{4}-\d{2}-\d{2}$/);
  });
});

forEachBackend('a declined update leaves the scope; a changed approval reaches the client as ChangedUpdates', async ({ store }) => {
  const ids = await setup(store);
  const bundle = ids.get('bundle')!;
  const child = ids.get('child')!;
  await store.approvals.upsert([approval('bundle', WORKSTATIONS, 'Install')]);
  await store.computers.touch({ id: CLIENT_ID, dnsName: 'pc1', groupIds: [WORKSTATIONS], defaultGroupId: UNASSIGNED });
  await withClientServer(store, async (server) => {
    const { cookie } = await clientHandshake(server);
    const first = await scan(server, cookie);

    // Nothing changed: nothing new, nothing changed.
    const again = await sync(server, first.cookie, first.installed, first.other);
    assert.deepEqual([again.newUpdates, again.changed, again.outOfScope], [[], [], []]);

    // The approval becomes an uninstall with a deadline.
    await store.approvals.upsert([approval('bundle', WORKSTATIONS, 'Uninstall', { deadline: '2027-01-10T00:00:00Z', createdAt: new Date(Date.now() + 1000).toISOString() })]);
    // The client's cookie expires meanwhile: the one it trades its old cookie for keeps what it had seen.
    server.clock.now = new Date(Date.now() + 61 * 60_000);
    const renewed = await clientHandshake(server, { oldCookie: again.cookie, register: false });
    const changed = await sync(server, renewed.cookie, first.installed, first.other);
    assert.deepEqual(changed.newUpdates, []);
    assert.deepEqual(
      changed.changed.map((u) => `${u.id} ${u.action} ${u.deadline ?? ''}`),
      [`${bundle} Uninstall 2027-01-10T00:00:00Z`, `${child} Bundle `],
    );
    assert.equal(changed.changed[0]!.xml, undefined);
    const quiet = await sync(server, changed.cookie, first.installed, first.other);
    assert.deepEqual(quiet.changed, [], 'the new cookie carries the new watermark');

    // A new approval of an update that arrived after the first scan reaches the client too.
    await store.catalog.upsertRevisions([
      makeRevision({ updateId: guid(7, 'client'), revisionNumber: 200, title: 'Late update', prerequisites: [{ updateIds: [U.detectoid], isCategory: false }] }),
    ]);
    await store.approvals.upsert([{ ...approval('other', WORKSTATIONS, 'Install'), updateId: guid(7, 'client') }]);
    const late = await sync(server, quiet.cookie, first.installed, first.other);
    const lateId = (await store.catalog.getLatest(guid(7, 'client')))!.revisionId;
    assert.deepEqual(late.newUpdates.map((u) => `${u.id} ${u.action}`), [`${lateId} Install`]);

    // Declined: the bundle, what only it carried and what only it required go out of scope.
    await store.declines.upsert([{ updateId: U.bundle, adminName: 'test', declinedAt: new Date().toISOString() }]);
    const declined = await sync(server, quiet.cookie, first.installed, first.other);
    assert.deepEqual(declined.outOfScope, [ids.get('ssu')!, bundle, child].sort((a, b) => a - b));
  });
});

forEachBackend('SyncUpdates pages: a page of the configured size with Truncated while more remain', async ({ store }) => {
  const ids = await setup(store);
  await withClientServer(
    store,
    async (server) => {
      const { cookie } = await clientHandshake(server);
      const page1 = await sync(server, cookie, [], []);
      assert.deepEqual([page1.newUpdates.length, page1.truncated], [2, true]);
      const page2 = await sync(server, page1.cookie, [], page1.newUpdates.map((u) => u.id));
      assert.deepEqual([page2.newUpdates.length, page2.truncated], [1, false], 'a full last page says false');
      assert.deepEqual(
        [...page1.newUpdates, ...page2.newUpdates].map((u) => u.id).sort((a, b) => a - b),
        [ids.get('product')!, ids.get('security')!, ids.get('detectoid')!].sort((a, b) => a - b),
      );
    },
    { pageSize: 2 },
  );
});

forEachBackend('GetExtendedUpdateInfo, GetFileLocations and RefreshCache answer from the store', async ({ store, dataDir }) => {
  const ids = await setup(store);
  await store.approvals.upsert([approval('bundle', WORKSTATIONS, 'Install')]);
  await store.computers.touch({ id: CLIENT_ID, dnsName: 'pc1', groupIds: [WORKSTATIONS], defaultGroupId: UNASSIGNED });
  const content = ContentStore.inDataDir(dataDir);
  mkdirSync(dirname(content.pathOf(CHILD_FILE)), { recursive: true });
  writeFileSync(content.pathOf(CHILD_FILE), Buffer.alloc(CHILD_FILE.size, 7));
  await withClientServer(store, async (server) => {
    const { cookie } = await clientHandshake(server);
    const child = ids.get('child')!;
    const answer = await server.call(
      'GetExtendedUpdateInfo',
      `${cookieXml(cookie)}<revisionIDs><int>${child}</int><int>999999</int></revisionIDs>` +
        `<infoTypes><XmlUpdateFragmentType>Extended</XmlUpdateFragmentType><XmlUpdateFragmentType>LocalizedProperties</XmlUpdateFragmentType></infoTypes>` +
        `<locales><string>de-DE</string><string>en</string></locales>`,
    );
    assert.equal(answer.status, 200, answer.text);
    const result = at(answer.root, 'Body/GetExtendedUpdateInfoResponse/GetExtendedUpdateInfoResult')!;
    assert.deepEqual(
      elementsAt(result, 'Updates').map((u) => `${textAt(u, 'ID')} ${/<Language>(\w+)</.exec(textAt(u, 'Xml')!)?.[1] ?? 'extended'}`),
      [`${child} extended`, `${child} de`, `${child} en`],
    );
    const host = new URL(server.origin).host;
    assert.deepEqual(
      elementsAt(result, 'FileLocations').map((f) => `${textAt(f, 'FileDigest')} ${textAt(f, 'Url')}`),
      [`${CHILD_FILE.sha1} http://${host}/Content/${contentPath(CHILD_FILE)}`],
    );
    assert.match(answer.text, /<OutOfScopeRevisionIDs><int>999999<\/int><\/OutOfScopeRevisionIDs>/);
    // The location is one the content route serves, as Delivery Optimization asks for it.
    const piece = await fetch(textAt(elementsAt(result, 'FileLocations')[0]!, 'Url')!, { headers: { range: 'bytes=0-1023' } });
    assert.equal(piece.status, 206);
    assert.equal(piece.headers.get('content-range'), `bytes 0-1023/${CHILD_FILE.size}`);
    await piece.arrayBuffer();

    const files = await server.call(
      'GetFileLocations',
      `${cookieXml(cookie)}<fileDigests><base64Binary>${CHILD_FILE.sha1}</base64Binary><base64Binary>${Buffer.alloc(20).toString('base64')}</base64Binary></fileDigests>`,
    );
    const fr = at(files.root, 'Body/GetFileLocationsResponse/GetFileLocationsResult')!;
    assert.deepEqual(elementsAt(fr, 'FileLocations').map((f) => textAt(f, 'Url')), [`http://${host}/Content/${contentPath(CHILD_FILE)}`]);
    assert.equal(textAt(fr, 'NewCookie/Expiration'), cookie.expiration);

    const refreshed = await server.call(
      'RefreshCache',
      `${cookieXml(cookie)}<globalIDs>${(['bundle', 'child', 'ssu', 'other'] as Name[])
        .map((n) => `<UpdateIdentity><UpdateID>${U[n]}</UpdateID><RevisionNumber>200</RevisionNumber></UpdateIdentity>`)
        .join('')}</globalIDs>`,
    );
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.deepEqual(
      elementsAt(refreshed.root, 'Body/RefreshCacheResponse/RefreshCacheResult').map((r) => `${textAt(r, 'RevisionID')} ${textAt(r, 'Deployment/Action')}`),
      [`${ids.get('bundle')} Install`, `${ids.get('ssu')} Evaluate`],
    );
  }, { content });
});

forEachBackend('bad cookies and requests earn the faults MS-WUSP prescribes', async ({ store }) => {
  await setup(store);
  await withClientServer(store, async (server) => {
    const { cookie, lastChange, authorization } = await clientHandshake(server);
    const params = '<parameters><ExpressQuery>false</ExpressQuery><SkipSoftwareSync>false</SkipSoftwareSync></parameters>';
    const forged = Buffer.from(cookie.data, 'base64');
    forged[forged.length - 1]! ^= 1;
    assert.equal(faultCode(await server.call('SyncUpdates', cookieXml({ ...cookie, data: forged.toString('base64') }) + params)), 'InvalidCookie');
    assert.equal(faultCode(await server.call('SyncUpdates', params)), 'InvalidCookie');
    const foreign = sealPayload('client', guid(1, 'server'), { c: CLIENT_ID, g: [], e: Date.now() + 60_000, v: 0, w: 0 }, { id: 1, secret: randomBytes(32) }, randomBytes(12));
    assert.equal(faultCode(await server.call('SyncUpdates', cookieXml({ ...cookie, data: foreign.toString('base64') }) + params)), 'ServerChanged');

    const ids = Array.from({ length: 401 }, (_, i) => `<int>${i + 1}</int>`).join('');
    const tooMany = await server.call('SyncUpdates', `${cookieXml(cookie)}<parameters><ExpressQuery>false</ExpressQuery><InstalledNonLeafUpdateIDs>${ids}</InstalledNonLeafUpdateIDs><SkipSoftwareSync>false</SkipSoftwareSync></parameters>`);
    assert.equal(tooMany.status, 500);
    assert.equal(faultCode(tooMany), 'InvalidParameters');
    assert.equal(textAt(tooMany.root, 'Body/Fault/detail/Message'), 'parameters.InstalledNonLeafUpdateIDs');

    const getCookie = (last: string, data = authorization) =>
      server.call(
        'GetCookie',
        `<authCookies><AuthorizationCookie><PlugInId>SimpleTargeting</PlugInId><CookieData>${data}</CookieData></AuthorizationCookie></authCookies><lastChange>${last}</lastChange><protocolVersion>2.90</protocolVersion>`,
      );
    assert.equal(faultCode(await getCookie('2020-01-01T00:00:00Z')), 'ConfigChanged');
    const categories = Array.from({ length: 200 }, (_, i) => `<CategoryRelationship><IndexOfAndGroup>${i}</IndexOfAndGroup><CategoryId>${guid(i, 'cat')}</CategoryId></CategoryRelationship>`).join('');
    const scan200 = await server.call('StartCategoryScan', `<requestedCategories>${categories}</requestedCategories>`);
    assert.deepEqual([faultCode(scan200), textAt(scan200.root, 'Body/Fault/detail/Message')], ['InvalidParameters', 'requestedCategories']);
    const withOld = (old: Buffer) =>
      server.call(
        'GetCookie',
        `<authCookies><AuthorizationCookie><PlugInId>SimpleTargeting</PlugInId><CookieData>${authorization}</CookieData></AuthorizationCookie></authCookies>` +
          `<oldCookie><Expiration>${cookie.expiration}</Expiration><EncryptedData>${old.toString('base64')}</EncryptedData></oldCookie><lastChange>${lastChange}</lastChange><protocolVersion>2.90</protocolVersion>`,
      );
    assert.equal(faultCode(await withOld(foreign)), 'ServerChanged', 'an old cookie of another server');
    assert.equal((await withOld(Buffer.from(cookie.data, 'base64'))).status, 200, 'its own old cookie is traded in');
    assert.equal(faultCode(await getCookie(lastChange, Buffer.from('nonsense!').toString('base64'))), 'InvalidAuthorizationCookie');

    // The driver pass: nothing, and DriverSyncNotNeeded.
    const drivers = await server.call('SyncUpdates', `${cookieXml(cookie)}<parameters><ExpressQuery>false</ExpressQuery><SkipSoftwareSync>true</SkipSoftwareSync><SystemSpec/></parameters>`);
    assert.equal(textAt(drivers.root, 'Body/SyncUpdatesResponse/SyncUpdatesResult/DriverSyncNotNeeded'), 'true');
    assert.equal(at(drivers.root, 'Body/SyncUpdatesResponse/SyncUpdatesResult/NewUpdates'), undefined);

    server.clock.now = new Date(Date.now() + 2 * 60 * 60_000);
    assert.equal(faultCode(await server.call('SyncUpdates', cookieXml(cookie) + params)), 'CookieExpired');
    assert.equal(faultCode(await getCookie(lastChange)), 'InvalidAuthorizationCookie', 'the authorization cookie expires too');
  });
});

forEachBackend(
  'two front ends of one database: an approval made through one reaches a client of the other',
  async ({ store, open }) => {
    const ids = await setup(store);
    const other = await open();
    await store.computers.touch({ id: CLIENT_ID, dnsName: 'pc1', groupIds: [WORKSTATIONS], defaultGroupId: UNASSIGNED });
    await withClientServer(other, async (server) => {
      const { cookie } = await clientHandshake(server);
      const before = await scan(server, cookie);
      assert.equal(before.rounds.flatMap((r) => r.newUpdates).some((u) => u.id === ids.get('bundle')), false);
      await store.approvals.upsert([approval('bundle', WORKSTATIONS, 'Install')]);
      const after = await scan(server, before.cookie, { installed: before.installed, other: before.other });
      assert.deepEqual(
        after.rounds.flatMap((r) => r.newUpdates).map((u) => `${u.id} ${u.action}`).sort(),
        [`${ids.get('bundle')} Install`, `${ids.get('child')} Bundle`, `${ids.get('ssu')} Evaluate`].sort(),
      );
    });
  },
  { only: ['postgres'] },
);

forEachBackend('a client moved to another group re-evaluates what it holds against the new group', async ({ store }) => {
  const ids = await setup(store);
  const bundle = ids.get('bundle')!;
  // Both approvals exist before the first scan: their change positions are below the watermark.
  await store.approvals.upsert([
    approval('bundle', WORKSTATIONS, 'Install'),
    { ...approval('bundle', UNASSIGNED, 'Uninstall'), id: 'bbbbbbbb-0000-4000-8000-00000000000b' },
  ]);
  await store.computers.touch({ id: CLIENT_ID, dnsName: 'pc1', groupIds: [WORKSTATIONS], defaultGroupId: UNASSIGNED });
  await withClientServer(store, async (server) => {
    const { cookie } = await clientHandshake(server);
    const first = await scan(server, cookie);
    assert.ok(first.other.includes(bundle) || first.installed.includes(bundle), 'the client holds the bundle');
    assert.ok(await store.computers.setGroups(CLIENT_ID, [UNASSIGNED]));
    const renewed = await clientHandshake(server, { oldCookie: first.cookie, register: false });
    const moved = await sync(server, renewed.cookie, first.installed, first.other);
    assert.ok(
      moved.changed.some((u) => u.id === bundle && u.action === 'Uninstall'),
      `the bundle's deployment in the new group arrives as changed: ${JSON.stringify(moved.changed)}`,
    );
  });
});
