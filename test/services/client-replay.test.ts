// Replay: every request the real Windows 11 agent sent a real WSUS in its first scan (fixtures
// wsus-m0-native/scan) is sent to an openwsus holding the real documents the capture references
// (Microsoft, Windows, OOBE ZDP in wsus-m0-wsusss/docs) and a generated catalog. The captured
// cookies were zeroed, so each request carries a cookie from this server's own handshake; the
// captured revision ids are the real server's, so they are replaced by this server's ids of the
// same updates. Each answer must have the real answer's structure (element paths in order), and
// the same revisions, actions, IsLeaf and fragments where the catalogs agree.
import assert from 'node:assert/strict';
import { textContent } from '../../src/xml/index.ts';
import { forEachBackend } from '../support/db.ts';
import { NATIVE, readCaptures } from '../soap/helpers.ts';
import { cookieXml, withClientServer, type ClientCookie } from './client-harness.ts';
import { loadGeneratedCatalog, loadRealDocuments } from './upstream-harness.ts';
import { at, elementsAt, parseAnswer, textAt, xmlShape } from './xml-shape.ts';

/** The real server's revision ids in the capture, by update. */
const REAL_IDS: Readonly<Record<number, string>> = {
  108226: '56309036-4c77-4dd9-951a-99ee9c246a94',
  108231: '6964aab4-c5b5-43bd-a17d-ffb4346a8e1d',
  72571: 'dd78b8a1-0b20-45c1-add6-4da72e9364cf',
};

forEachBackend('the real first scan replays against openwsus with the real answers’ structure', async ({ store }) => {
  await loadGeneratedCatalog(store, 300);
  await loadRealDocuments(store);
  const ours = new Map<number, number>();
  for (const [real, updateId] of Object.entries(REAL_IDS)) {
    const latest = (await store.catalog.getLatest(updateId))!;
    ours.set(Number(real), latest.revisionId);
  }
  const realOf = new Map([...ours].map(([r, o]) => [o, r]));
  const captures = readCaptures(NATIVE);
  assert.equal(captures.length, 10);

  await withClientServer(store, async (server) => {
    let lastChange: string | undefined;
    let authorization: string | undefined;
    let cookie: ClientCookie | undefined;
    const compared: string[] = [];
    for (const capture of captures) {
      let body = capture.requestBody.toString('utf8');
      if (lastChange !== undefined) body = body.replace(/<lastChange>[^<]*<\/lastChange>/, `<lastChange>${lastChange}</lastChange>`);
      if (authorization !== undefined) body = body.replace(/<CookieData>A+=*<\/CookieData>/, `<CookieData>${authorization}</CookieData>`);
      if (cookie !== undefined) body = body.replace(/<cookie>.*?<\/cookie>/s, cookieXml(cookie));
      body = body.replace(/<int>(\d+)<\/int>/g, (m, id: string) => (ours.has(Number(id)) ? `<int>${ours.get(Number(id))}</int>` : m));
      const answer = await server.post(capture.meta.path, JSON.parse(capture.meta.soap_action) as string, body);
      const real = parseAnswer(capture.responseBody);
      const label = `exchange ${capture.id} (${capture.meta.soap_action})`;
      assert.equal(answer.status, capture.meta.status, `${label}: ${answer.text.slice(0, 400)}`);
      assert.deepEqual(xmlShape(answer.text), xmlShape(capture.responseBody), label);

      const op = (JSON.parse(capture.meta.soap_action) as string).split('/').pop()!;
      const result = at(answer.root, `Body/${op}Response/${op}Result`);
      if (op === 'GetConfig') {
        lastChange = textAt(result!, 'LastChange');
        const props = elementsAt(result!, 'Properties').map((p) => `${textAt(p, 'Name')}`);
        assert.deepEqual(props, elementsAt(at(real, 'Body/GetConfigResponse/GetConfigResult')!, 'Properties').map((p) => `${textAt(p, 'Name')}`));
        assert.equal(textAt(result!, 'AuthInfo/AuthPlugInInfo/ServiceUrl'), 'SimpleAuthWebService/SimpleAuth.asmx');
      } else if (op === 'GetAuthorizationCookie') {
        authorization = textAt(result!, 'CookieData');
      } else if (op === 'GetCookie') {
        cookie = { expiration: textAt(result!, 'Expiration')!, data: textAt(result!, 'EncryptedData')! };
      } else if (op === 'StartCategoryScan') {
        assert.deepEqual(
          elementsAt(answer.root, 'Body/StartCategoryScanResponse/preferredCategoryIds').map(textContent),
          elementsAt(real, 'Body/StartCategoryScanResponse/preferredCategoryIds').map(textContent),
        );
      } else if (op === 'SyncUpdates') {
        const mine = elementsAt(result!, 'NewUpdates').map((u) => ({
          id: realOf.get(Number(textAt(u, 'ID'))) ?? Number(textAt(u, 'ID')),
          action: textAt(u, 'Deployment/Action'),
          leaf: textAt(u, 'IsLeaf'),
          xml: textAt(u, 'Xml'),
        }));
        const theirs = elementsAt(at(real, 'Body/SyncUpdatesResponse/SyncUpdatesResult')!, 'NewUpdates').map((u) => ({
          id: Number(textAt(u, 'ID')),
          action: textAt(u, 'Deployment/Action'),
          leaf: textAt(u, 'IsLeaf'),
          xml: textAt(u, 'Xml'),
        }));
        assert.deepEqual(mine.map((u) => `${u.id} ${u.action} ${u.leaf}`), theirs.map((u) => `${u.id} ${u.action} ${u.leaf}`), label);
        compared.push(...theirs.map((u) => `sync ${u.id}`));
        for (let k = 0; k < theirs.length; k++) assert.equal(mine[k]!.xml, theirs[k]!.xml, `${label}: Core of ${theirs[k]!.id}`);
        const expiration = textAt(result!, 'NewCookie/Expiration')!;
        assert.equal(expiration, cookie!.expiration, 'WSUS keeps the Expiration and rotates the data');
        cookie = { expiration, data: textAt(result!, 'NewCookie/EncryptedData')! };
      } else if (op === 'GetExtendedUpdateInfo') {
        compared.push('extended');
        const list = (root: typeof real, path: string, map: (id: number) => number) =>
          elementsAt(root, path).map((u) => `${map(Number(textAt(u, 'ID')))} ${textAt(u, 'Xml')}`);
        assert.deepEqual(
          list(answer.root, 'Body/GetExtendedUpdateInfoResponse/GetExtendedUpdateInfoResult/Updates', (id) => realOf.get(id) ?? id),
          list(real, 'Body/GetExtendedUpdateInfoResponse/GetExtendedUpdateInfoResult/Updates', (id) => id),
        );
      }
    }
    assert.deepEqual(compared, ['sync 108226', 'sync 108231', 'sync 72571', 'extended']);
    const computer = (await store.computers.get('e1da06a3-5601-43c9-bac3-52d5db701494'))!;
    assert.deepEqual(
      [computer.dnsName, computer.manufacturer, computer.model, computer.biosVersion, computer.biosReleaseDate, computer.processorArchitecture, computer.osDescription, computer.clientVersion],
      ['REDACTED3', 'QEMU', 'Standard PC (Q35 + ICH9, 2009)', 'unknown', '2022-02-02T00:00:00.000Z', 'AMD64', 'Windows 10 Pro', '1507.2601.30012.0'],
    );
    assert.ok(computer.lastSyncAt !== undefined);
  });
});
