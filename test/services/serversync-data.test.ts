// GetUpdateData, DownloadFiles, GetDeployments and the operations a downstream rarely calls, over
// a hand-built catalog; and bad input of every kind, after which the server keeps serving.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import type { Approval } from '../../src/domain/deployment.ts';
import { ALL_COMPUTERS_GROUP_ID, UNASSIGNED_COMPUTERS_GROUP_ID } from '../../src/domain/wellknown.ts';
import { decodeUpdateBlob } from '../../src/metadata/cab/index.ts';
import { SoapFault, type SoapNode } from '../../src/soap/index.ts';
import type { Store } from '../../src/store/index.ts';
import { forEachBackend } from '../support/db.ts';
import { guid, makeFile, makeRevision, sha1Of } from '../store/records.ts';
import { cookieXml, handshake, keysXml, revisionIdList, SERVER_SYNC_PATH, withUpstream, type Cookie, type Upstream } from './upstream-harness.ts';

const U = (n: number) => guid(n, 'data');
const PRODUCT = guid(1, 'product');
const SECURITY = '0fa1201d-4330-4fa8-8ae9-b877473b6441';

async function expectFault(call: Promise<unknown>, errorCode: string, message?: string): Promise<SoapFault> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof SoapFault, `expected a SOAP fault, got ${String(error)}`);
    assert.equal(error.errorCode, errorCode, `fault ${error.errorCode} "${error.message}"`);
    if (message !== undefined) assert.equal(error.message, message);
    return error;
  }
  assert.fail(`expected a ${errorCode} fault`);
}

/** A document of exactly `chars` UTF-16 code units. */
function sizedRevision(n: number, chars: number, extra: Parameters<typeof makeRevision>[0] | object = {}) {
  const base = makeRevision({ updateId: U(n), revisionNumber: 1, ...extra }).record.xml.length;
  return makeRevision({ updateId: U(n), revisionNumber: 1, body: 'x'.repeat(chars - base), ...extra });
}

interface UpdateDatum {
  id: string;
  xml: string;
  compressed: boolean;
  digests: string[];
  order: string[];
}

function updates(result: SoapNode): UpdateDatum[] {
  return result.list('updates').map((u) => {
    const compressed = u.child('XmlUpdateBlobCompressed');
    return {
      id: `${u.need('Id').guid('UpdateID')}/${u.need('Id').int('RevisionNumber')}`,
      xml: compressed !== undefined ? decodeUpdateBlob(compressed.asString()) : u.string('XmlUpdateBlob'),
      compressed: compressed !== undefined,
      digests: u.child('FileDigestList')?.items().map((d) => d.asString()) ?? [],
      order: u.items().map((c) => c.name),
    };
  });
}

async function updateData(u: Upstream, cookie: Cookie, keys: Array<{ updateId: string; revisionNumber: number }>) {
  return (await u.call('GetUpdateData', cookieXml(cookie) + keysXml(keys))).result!;
}

forEachBackend('GetUpdateData sends documents up to 5,120 bytes of UTF-16 plain and bigger ones compressed', async ({ store }) => {
  const small = sizedRevision(1, 2560);
  const big = sizedRevision(2, 2561);
  const files = [makeFile('a.cab'), makeFile('b.exe')];
  const withFiles = sizedRevision(3, 8000, { files });
  await store.catalog.upsertRevisions([small, big, withFiles]);
  await withUpstream(store, async (u) => {
    const cookie = await handshake(u);
    const keys = [small, big, withFiles, small].map((r) => r.record.key);
    const got = updates(await updateData(u, cookie, keys));
    // Duplicates are answered twice, in the order asked.
    assert.deepEqual(got.map((d) => d.id), keys.map((k) => `${k.updateId}/${k.revisionNumber}`));
    assert.deepEqual(got.map((d) => d.compressed), [false, true, true, false]);
    assert.deepEqual(got.map((d) => d.xml), [small, big, withFiles, small].map((r) => r.record.xml));
    assert.deepEqual(got.map((d) => d.order), [
      ['Id', 'XmlUpdateBlob'],
      ['Id', 'XmlUpdateBlobCompressed'],
      ['Id', 'FileDigestList', 'XmlUpdateBlobCompressed'],
      ['Id', 'XmlUpdateBlob'],
    ]);
    assert.deepEqual(got[2]!.digests, files.map((f) => f.sha1));
  });
});

forEachBackend('GetUpdateData names each file once, at its upstream URL or ours', async ({ store }) => {
  const shared = makeFile('shared.psf');
  const own = makeFile('kb1.cab');
  const upstreamUrl = 'http://download.windowsupdate.com/c/msdownload/update/software/secu/2026/10/kb1_abc.cab';
  await store.catalog.upsertRevisions([
    makeRevision({ updateId: U(1), revisionNumber: 1, files: [own, shared], muUrls: { [own.sha1]: upstreamUrl } }),
    makeRevision({ updateId: U(2), revisionNumber: 1, files: [shared] }),
    makeRevision({ updateId: U(3), revisionNumber: 1 }),
  ]);
  await withUpstream(store, async (u) => {
    const cookie = await handshake(u);
    const result = await updateData(u, cookie, [1, 2, 3].map((n) => ({ updateId: U(n), revisionNumber: 1 })));
    assert.deepEqual(updates(result).map((d) => d.digests), [[own.sha1, shared.sha1], [shared.sha1], []]);
    const urls = result.list('fileUrls').map((f) => ({ digest: f.string('FileDigest'), mu: f.string('MUUrl'), uss: f.string('UssUrl'), order: f.items().map((c) => c.name) }));
    const hex = (sha1: string) => Buffer.from(sha1, 'base64').toString('hex').toUpperCase();
    const ours = (sha1: string, ext: string) => `${u.origin}/Content/${hex(sha1).slice(-2)}/${hex(sha1)}${ext}`;
    assert.deepEqual(urls, [
      { digest: own.sha1, mu: upstreamUrl, uss: ours(own.sha1, '.cab'), order: ['FileDigest', 'MUUrl', 'UssUrl'] },
      { digest: shared.sha1, mu: ours(shared.sha1, '.psf'), uss: ours(shared.sha1, '.psf'), order: ['FileDigest', 'MUUrl', 'UssUrl'] },
    ]);
    // No files: an empty list, as the real WSUS writes it.
    const none = await updateData(u, cookie, [{ updateId: U(3), revisionNumber: 1 }]);
    assert.deepEqual(none.list('fileUrls'), []);
    assert.ok(none.has('fileUrls'));
  });
});

forEachBackend('GetUpdateData takes at most 100 ids and fails whole on an unknown revision', async ({ store }) => {
  await store.catalog.upsertRevisions(Array.from({ length: 101 }, (_, i) => makeRevision({ updateId: U(i), revisionNumber: 1 })));
  await withUpstream(store, async (u) => {
    const cookie = await handshake(u);
    const keys = Array.from({ length: 101 }, (_, i) => ({ updateId: U(i), revisionNumber: 1 }));
    assert.equal(updates(await updateData(u, cookie, keys.slice(0, 100))).length, 100);
    await expectFault(updateData(u, cookie, keys), 'InvalidParameters', 'updateIds');
    const unknownId = await expectFault(updateData(u, cookie, [keys[0]!, { updateId: '00000000-0000-0000-0000-000000000001', revisionNumber: 1 }]), 'InternalServerError', '');
    assert.equal(unknownId.faultCode, 'Server');
    await expectFault(updateData(u, cookie, [{ updateId: U(0), revisionNumber: 2 }]), 'InternalServerError');
    await expectFault(u.call('GetUpdateData', cookieXml(cookie)), 'InvalidParameters', 'updateIds');
    await expectFault(u.call('GetUpdateData', `${cookieXml(cookie)}<updateIds><UpdateIdentity><UpdateID>x</UpdateID><RevisionNumber>1</RevisionNumber></UpdateIdentity></updateIds>`), 'InvalidParameters', 'updateIds');
    assert.deepEqual(updates(await updateData(u, cookie, [])), []);
  });
});

forEachBackend('DownloadFiles queues known files and names the unknown ones in FileDigestsMissing', async ({ store }) => {
  const a = makeFile('a.cab');
  const b = makeFile('b.cab');
  await store.catalog.upsertRevisions([makeRevision({ updateId: U(1), revisionNumber: 1, files: [a, b] })]);
  await store.files.markPresent(b.sha1);
  await withUpstream(store, async (u) => {
    const cookie = await handshake(u);
    const digests = (list: string[]) => `<fileDigestList>${list.map((d) => `<base64Binary>${d}</base64Binary>`).join('')}</fileDigestList>`;
    const answer = await u.call('DownloadFiles', cookieXml(cookie) + digests([a.sha1, b.sha1]));
    assert.equal(answer.result, undefined);
    assert.equal((await store.files.get(a.sha1))?.state, 'queued');
    assert.equal((await store.files.get(b.sha1))?.state, 'present');
    // Into the download queue as asked for by a downstream; the present one is left out.
    assert.equal((await store.contentQueue.get(a.sha1))?.requested, true);
    assert.equal(await store.contentQueue.get(b.sha1), undefined);

    await store.files.markFailed(a.sha1, 'upstream said 404');
    const missing = [sha1Of('nowhere-1'), sha1Of('nowhere-2')];
    await expectFault(u.call('DownloadFiles', cookieXml(cookie) + digests([missing[0]!, a.sha1, missing[1]!])), 'FileDigestsMissing', missing.join('|'));
    // The known one was queued all the same.
    assert.equal((await store.files.get(a.sha1))?.state, 'queued');

    await expectFault(u.call('DownloadFiles', cookieXml(cookie) + digests(Array.from({ length: 101 }, (_, i) => sha1Of(`f${i}`)))), 'InvalidParameters', 'fileDigestList');
    await expectFault(u.call('DownloadFiles', cookieXml(cookie) + digests([Buffer.from('short').toString('base64')])), 'InvalidParameters', 'fileDigestList');
    await expectFault(u.call('DownloadFiles', cookieXml(cookie)), 'InvalidParameters', 'fileDigestList');
  });
});

function approval(updateId: string, groupId: string, extra: Partial<Approval> = {}): Approval {
  return { id: randomUUID(), updateId, revisionNumber: 200, groupId, action: 'Install', adminName: 'CORP\\admin', createdAt: '2026-10-04T10:00:00.000Z', ...extra };
}

interface Feed {
  anchor: string;
  groups: Array<{ id: string; parent: string; name: string; builtin: boolean }>;
  deployments: Array<Record<string, string>>;
  dead: string[];
  hidden: string[];
  eulas: string[];
  order: string[];
}

async function deployments(u: Upstream, cookie: Cookie, anchors: { deployment?: string; sync?: string } = {}): Promise<Feed> {
  const body =
    cookieXml(cookie) +
    (anchors.deployment === undefined ? '' : `<deploymentAnchor>${anchors.deployment}</deploymentAnchor>`) +
    (anchors.sync === undefined ? '' : `<syncAnchor>${anchors.sync}</syncAnchor>`);
  const r = (await u.call('GetDeployments', body)).result!;
  return {
    anchor: r.string('Anchor'),
    groups: r.list('Groups').map((g) => ({ id: g.guid('TargetGroupID'), parent: g.guid('ParentGroupId'), name: g.string('Name'), builtin: g.bool('IsBuiltin') })),
    deployments: r.list('Deployments').map((d) => Object.fromEntries(d.items().map((c) => [c.name, c.asString()]))),
    dead: r.guids('DeadDeployments'),
    hidden: r.guids('HiddenUpdates'),
    eulas: r.guids('AcceptedEulas'),
    order: r.items().map((c) => c.name),
  };
}

async function catalogForDeployments(store: Store): Promise<void> {
  await store.catalog.upsertRevisions([1, 2, 3].map((n) => makeRevision({ updateId: U(n), revisionNumber: 200 })));
}

forEachBackend('GetDeployments feeds a replica groups, approvals, dead deployments and declines, incrementally', async ({ store }) => {
  await catalogForDeployments(store);
  const LAB = guid(1, 'group');
  await store.groups.upsert([{ id: LAB, name: 'Lab', parentId: ALL_COMPUTERS_GROUP_ID, builtin: false }]);
  const first = approval(U(1), LAB, { deadline: '2026-10-10T08:00:00.000Z' });
  const second = approval(U(2), UNASSIGNED_COMPUTERS_GROUP_ID, { action: 'PreDeploymentCheck' });
  await store.approvals.upsert([first, second]);
  await store.declines.upsert([{ updateId: U(3), adminName: 'CORP\\admin', declinedAt: '2026-10-04T11:00:00.000Z' }]);
  await withUpstream(store, async (u) => {
    const cookie = await handshake(u);
    const feed = await deployments(u, cookie);
    assert.deepEqual(feed.order, ['Anchor', 'Groups', 'Deployments', 'DeadDeployments', 'HiddenUpdates', 'AcceptedEulas']);
    assert.deepEqual(feed.groups, [
      { id: ALL_COMPUTERS_GROUP_ID, parent: '00000000-0000-0000-0000-000000000000', name: 'All Computers', builtin: true },
      { id: UNASSIGNED_COMPUTERS_GROUP_ID, parent: ALL_COMPUTERS_GROUP_ID, name: 'Unassigned Computers', builtin: true },
      { id: LAB, parent: ALL_COMPUTERS_GROUP_ID, name: 'Lab', builtin: false },
    ]);
    assert.deepEqual(feed.deployments, [
      {
        UpdateId: U(1),
        RevisionNumber: '200',
        Action: '0',
        AdminName: 'CORP\\admin',
        Deadline: '2026-10-10T08:00:00Z',
        IsAssigned: 'true',
        GoLiveTime: '2026-10-04T10:00:00Z',
        DeploymentGuid: first.id,
        TargetGroupId: LAB,
        DownloadPriority: '1',
      },
      {
        UpdateId: U(2),
        RevisionNumber: '200',
        Action: '2',
        AdminName: 'CORP\\admin',
        Deadline: '9999-12-31T23:59:59.9999999',
        IsAssigned: 'true',
        GoLiveTime: '2026-10-04T10:00:00Z',
        DeploymentGuid: second.id,
        TargetGroupId: UNASSIGNED_COMPUTERS_GROUP_ID,
        DownloadPriority: '1',
      },
    ]);
    assert.deepEqual([feed.dead, feed.hidden, feed.eulas], [[], [U(3)], []]);
    assert.equal((await store.downstreams.list())[0]!.isReplica, true);

    // Nothing changed: groups again (the replica deletes groups it is not sent), nothing else.
    const quiet = await deployments(u, cookie, { deployment: feed.anchor });
    assert.equal(quiet.groups.length, 3);
    assert.deepEqual([quiet.deployments, quiet.dead, quiet.hidden], [[], [], []]);

    // Approving again replaces the approval: the new deployment is sent, the old one reported dead.
    const replacement = approval(U(1), LAB, { action: 'Uninstall' });
    await store.approvals.upsert([replacement]);
    const changed = await deployments(u, cookie, { deployment: quiet.anchor });
    assert.deepEqual(changed.deployments.map((d) => [d.DeploymentGuid, d.Action]), [[replacement.id, '1']]);
    assert.deepEqual(changed.dead, [first.id]);
    const after = await deployments(u, cookie, { deployment: changed.anchor });
    assert.deepEqual([after.deployments, after.dead], [[], []]);
  });
});

forEachBackend('GetDeployments holds back approvals of revisions the replica has not synchronized yet', async ({ store }) => {
  await catalogForDeployments(store);
  await withUpstream(store, async (u) => {
    const cookie = await handshake(u);
    const synced = await revisionIdList(u, cookie, { getConfig: false });
    await store.catalog.upsertRevisions([makeRevision({ updateId: U(4), revisionNumber: 200 })]);
    const early = approval(U(1), ALL_COMPUTERS_GROUP_ID);
    const tooNew = approval(U(4), ALL_COMPUTERS_GROUP_ID);
    await store.approvals.upsert([early, tooNew]);
    const feed = await deployments(u, cookie, { sync: synced.anchor });
    assert.deepEqual(feed.deployments.map((d) => d.DeploymentGuid), [early.id]);
    // After the next metadata sync, the held-back one comes.
    const resynced = await revisionIdList(u, cookie, { getConfig: false, anchor: synced.anchor });
    const next = await deployments(u, cookie, { deployment: feed.anchor, sync: resynced.anchor });
    assert.deepEqual(next.deployments.map((d) => d.DeploymentGuid), [tooNew.id]);
    await expectFault(deployments(u, cookie, { deployment: 'garbage' }), 'InvalidParameters', 'deploymentAnchor');
    await expectFault(deployments(u, cookie, { sync: 'garbage' }), 'InvalidParameters', 'syncAnchor');
  });
});

forEachBackend('the operations a downstream rarely calls answer as a WSUS with no drivers and no encrypted files', async ({ store }) => {
  await store.catalog.upsertRevisions([makeRevision({ updateId: U(1), revisionNumber: 200 }), makeRevision({ updateId: U(1), revisionNumber: 201 })]);
  await withUpstream(store, async (u) => {
    const cookie = await handshake(u);
    const decryption = (await u.call('GetUpdateDecryptionData', cookieXml(cookie) + keysXml([{ updateId: U(1), revisionNumber: 201 }]))).result!;
    assert.deepEqual(decryption.items().map((c) => c.name), ['UpdateFileDecryptionData']);
    assert.deepEqual(decryption.list('UpdateFileDecryptionData'), []);
    await expectFault(
      u.call('GetUpdateDecryptionData', cookieXml(cookie) + keysXml(Array.from({ length: 101 }, (_, i) => ({ updateId: U(i), revisionNumber: 1 })))),
      'InvalidParameters',
      'updateIds',
    );

    const drivers = (await u.call('GetDriverIdList', `${cookieXml(cookie)}<filter><Categories /></filter>`)).result!;
    assert.deepEqual(drivers.items().map((c) => c.name), ['Anchor', 'NewRevisions', 'NewDriverSets', 'RemovedDriverSets']);
    assert.deepEqual([drivers.list('NewRevisions'), drivers.list('NewDriverSets'), drivers.list('RemovedDriverSets')], [[], [], []]);
    await expectFault(u.call('GetDriverIdList', `${cookieXml(cookie)}<filter><Anchor>garbage</Anchor></filter>`), 'InvalidParameters', 'filter');
    const sets = (await u.call('GetDriverSetData', `${cookieXml(cookie)}<driverSets />`)).result!;
    assert.deepEqual(sets.list('DriverSets'), []);
    await expectFault(u.call('GetDriverSetData', `${cookieXml(cookie)}<driverSets><guid>${randomUUID()}</guid></driverSets>`), 'TooManyIds');

    const related = (await u.call('GetRelatedRevisionsForUpdates', `${cookieXml(cookie)}<updateIDs><guid>${U(1)}</guid><guid>${U(9)}</guid></updateIDs>`)).result!;
    assert.deepEqual(related.items().map((i) => `${i.guid('UpdateID')}/${i.int('RevisionNumber')}`), [`${U(1)}/201`]);

    for (const service of ['sync', 'auth'] as const) {
      const ping = await request(`${u.origin}${service === 'sync' ? SERVER_SYNC_PATH : '/DssAuthWebService/DssAuthWebService.asmx'}`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"http://www.microsoft.com/SoftwareDistribution/Server/IMonitorable/Ping"' },
        body:
          '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>' +
          '<Ping xmlns="http://www.microsoft.com/SoftwareDistribution/Server/IMonitorable"><pingLevel>1</pingLevel></Ping></soap:Body></soap:Envelope>',
      });
      const text = await ping.body.text();
      assert.equal(ping.statusCode, 200, text);
      assert.match(text, /<PingResponse xmlns="http:\/\/www.microsoft.com\/SoftwareDistribution\/Server\/IMonitorable"><PingResult><SuccessFlag>true<\/SuccessFlag><ServicesTime>/);
    }
  });
});

forEachBackend('bad input gets a clean fault and the server keeps serving', async ({ store }) => {
  await store.catalog.upsertRevisions([makeRevision({ updateId: U(1), revisionNumber: 1, prerequisites: [{ updateIds: [PRODUCT], isCategory: true }, { updateIds: [SECURITY], isCategory: true }] })]);
  await withUpstream(store, async (u) => {
    const cookie = await handshake(u);
    const post = async (body: string | Buffer, soapAction: string) => {
      const response = await request(`${u.origin}${SERVER_SYNC_PATH}`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: soapAction }, body });
      return { status: response.statusCode, text: await response.body.text() };
    };
    // 10 MB of ids.
    const identity = `<UpdateIdentity><UpdateID>${U(1)}</UpdateID><RevisionNumber>1</RevisionNumber></UpdateIdentity>`;
    const flood =
      '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>' +
      `<GetUpdateData xmlns="http://www.microsoft.com/SoftwareDistribution">${cookieXml(cookie)}<updateIds>${identity.repeat(Math.ceil((10 * 1024 * 1024) / identity.length))}</updateIds></GetUpdateData></soap:Body></soap:Envelope>`;
    assert.ok(flood.length > 10 * 1024 * 1024);
    const flooded = await post(flood, '"http://www.microsoft.com/SoftwareDistribution/GetUpdateData"');
    assert.equal(flooded.status, 500);
    assert.match(flooded.text, /<ErrorCode>InvalidParameters<\/ErrorCode>/);

    const unknown = await post(
      '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><Nope xmlns="http://www.microsoft.com/SoftwareDistribution"/></soap:Body></soap:Envelope>',
      '"http://www.microsoft.com/SoftwareDistribution/Nope"',
    );
    assert.equal(unknown.status, 500);
    assert.match(unknown.text, /<faultcode>soap:Client<\/faultcode>.*<ErrorCode>InvalidParameters<\/ErrorCode>/s);
    for (const junk of ['', 'not xml', '<a>', '<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>']) {
      const answer = await post(junk, '"http://www.microsoft.com/SoftwareDistribution/GetConfigData"');
      assert.equal(answer.status, 500, JSON.stringify(junk));
      assert.match(answer.text, /<ErrorCode>InvalidParameters<\/ErrorCode>/);
    }
    // Cookies of every wrong kind on every operation that takes one.
    for (const operation of ['GetConfigData', 'GetRevisionIdList', 'GetUpdateData', 'DownloadFiles', 'GetDeployments', 'GetUpdateDecryptionData', 'GetRelatedRevisionsForUpdates', 'GetDriverIdList', 'GetDriverSetData']) {
      await expectFault(u.call(operation), 'InvalidCookie');
      await expectFault(u.call(operation, cookieXml({ ...cookie, data: Buffer.alloc(200, 7).toString('base64') })), 'InvalidCookie');
    }
    // Still serving, answers intact.
    const listed = await revisionIdList(u, cookie, { getConfig: false, categories: [{ id: PRODUCT, delta: false }], classifications: [{ id: SECURITY, delta: false }] });
    assert.deepEqual(listed.revisions, [{ updateId: U(1), revisionNumber: 1 }]);
    assert.equal(updates(await updateData(u, cookie, listed.revisions)).length, 1);
  });
});
