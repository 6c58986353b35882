// Replay: every request a downstream sent a real WSUS (fixtures wsus-m0-wsusss/exchanges) is sent
// to an openwsus holding the 9 real documents and a generated catalog. The captured cookies were
// zeroed, so each request carries a cookie this server issued through the real handshake instead
// (except the capture without one); captured anchors were issued by that WSUS during an earlier
// sync, so they are replaced by anchors this server issued after its catalog was loaded. Each
// answer must have the real answer's structure, status and faults, the same empty lists, and the
// same revisions and documents where the two catalogs agree.
import assert from 'node:assert/strict';
import { request } from 'undici';
import { decodeUpdateBlob } from '../../src/metadata/cab/index.ts';
import { childElements, textContent, type XmlElement } from '../../src/xml/index.ts';
import { forEachBackend } from '../support/db.ts';
import { readCaptures, WSUSSS, type Capture } from '../soap/helpers.ts';
import { cookieXml, loadGeneratedCatalog, loadRealDocuments, REAL_MU_URLS, withUpstream, type Cookie, type Upstream } from './upstream-harness.ts';
import { at, elementsAt, identities, parseAnswer, textAt, xmlShape } from './xml-shape.ts';

const RESULT = (op: string) => `Body/${op}Response/${op}Result`;

interface ReplayState {
  authorizationCookie?: string;
  cookie?: Cookie;
  configAnchor?: string;
  syncAnchor?: string;
}

/** The captured request with this server's cookie and anchors in place of the captured ones. */
function substitute(capture: Capture, state: ReplayState): string {
  let body = capture.requestBody.toString('utf8');
  if (state.authorizationCookie !== undefined) body = body.replace(/<CookieData>A+=*<\/CookieData>/, `<CookieData>${state.authorizationCookie}</CookieData>`);
  if (state.cookie !== undefined) body = body.replace(/<cookie>.*?<\/cookie>/s, cookieXml(state.cookie));
  if (state.configAnchor !== undefined) body = body.replace(/<configAnchor>[^<]*<\/configAnchor>/, `<configAnchor>${state.configAnchor}</configAnchor>`);
  // Only anchors a WSUS issued: the capture that sends `garbage` must keep it.
  if (state.syncAnchor !== undefined) body = body.replace(/<Anchor>[0-9]+,[^<]*<\/Anchor>/, `<Anchor>${state.syncAnchor}</Anchor>`);
  return body;
}

async function send(upstream: Upstream, capture: Capture, body: string): Promise<{ status: number; contentType: string; body: Buffer }> {
  const response = await request(`${upstream.origin}${capture.meta.path}`, {
    method: 'POST',
    headers: {
      'content-type': capture.requestHeaders.get('content-type') ?? 'text/xml; charset=utf-8',
      soapaction: capture.requestHeaders.get('soapaction') ?? '',
    },
    body,
  });
  return { status: response.statusCode, contentType: String(response.headers['content-type']), body: Buffer.from(await response.body.arrayBuffer()) };
}

function fault(root: XmlElement): { code: string; errorCode: string; message: string; faultString: string } {
  const f = at(root, 'Body/Fault')!;
  return {
    code: textAt(f, 'faultcode')!,
    errorCode: textAt(f, 'detail/ErrorCode')!,
    message: textAt(f, 'detail/Message')!,
    faultString: textAt(f, 'faultstring')!,
  };
}

/** Values of every leaf under `element` but the named ones, in document order. */
function leafValues(element: XmlElement, skip: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const walk = (e: XmlElement, path: string): void => {
    const kids = childElements(e);
    if (kids.length === 0) {
      if (!skip.has(e.local)) out.push(`${path}=${textContent(e)}`);
      return;
    }
    for (const k of kids) walk(k, `${path}/${k.local}`);
  };
  walk(element, element.local);
  return out;
}

function updateData(root: XmlElement): Array<{ id: string; blob: string; digests: string[]; compressed: boolean }> {
  return elementsAt(root, `${RESULT('GetUpdateData')}/updates`).map((u) => {
    const plain = at(u, 'XmlUpdateBlob');
    const compressed = at(u, 'XmlUpdateBlobCompressed');
    return {
      id: identities([at(u, 'Id')!])[0]!,
      blob: plain !== undefined ? textContent(plain) : decodeUpdateBlob(textContent(compressed!)),
      digests: elementsAt(u, 'FileDigestList').map(textContent),
      compressed: compressed !== undefined,
    };
  });
}

forEachBackend(
  'every captured MS-WSUSSS request gets an answer of the real answer’s shape and meaning',
  async ({ store }) => {
    await loadGeneratedCatalog(store, 600);
    const docs = await loadRealDocuments(store);
    const stored = new Set(
      (await store.catalogGraph.latest('content')).concat(await store.catalogGraph.latest('config')).map((r) => r.updateId),
    );
    const docText = new Map(docs.map((d) => [`${d.updateId}/${d.revisionNumber}`, d.xml]));
    const captures = readCaptures(WSUSSS);
    assert.equal(captures.length, 19);

    await withUpstream(store, async (upstream) => {
      const state: ReplayState = {};
      for (const capture of captures) {
        const id = capture.id;
        const ours = await send(upstream, capture, substitute(capture, state));
        const real = parseAnswer(capture.responseBody);
        const mine = parseAnswer(ours.body);
        assert.equal(ours.status, capture.meta.status, `${id}: HTTP status`);
        assert.equal(ours.contentType, capture.responseHeaders.get('content-type'), `${id}: Content-Type`);
        assert.deepEqual(xmlShape(ours.body), xmlShape(capture.responseBody), `${id}: structure of the answer`);
        const action = capture.meta.soap_action.slice(capture.meta.soap_action.lastIndexOf('/') + 1);
        if (capture.meta.status !== 200) {
          const theirs = fault(real);
          assert.deepEqual(fault(mine), theirs, `${id}: fault`);
          continue;
        }
        const response = at(mine, `Body/${action}Response`)!;
        assert.equal(response.uri, at(real, `Body/${action}Response`)!.uri, `${id}: namespace of the answer`);
        const result = at(mine, RESULT(action))!;
        const realResult = at(real, RESULT(action))!;

        switch (action) {
          case 'GetAuthConfig':
            assert.deepEqual(leafValues(result, new Set(['LastChange'])), leafValues(realResult, new Set(['LastChange'])));
            break;
          case 'GetAuthorizationCookie':
            assert.equal(textAt(result, 'PlugInId'), textAt(realResult, 'PlugInId'));
            state.authorizationCookie = textAt(result, 'CookieData')!;
            break;
          case 'GetCookie': {
            const expiration = Date.parse(textAt(result, 'Expiration')!);
            assert.ok(expiration > Date.now() + 239 * 60_000 && expiration <= Date.now() + 240 * 60_000, `${id}: a 240-minute cookie`);
            state.cookie = { expiration: textAt(result, 'Expiration')!, data: textAt(result, 'EncryptedData')! };
            // 000004 sends the config anchor of an earlier GetConfigData: get one of ours.
            const config = await upstream.call('GetConfigData', cookieXml(state.cookie));
            state.configAnchor = config.result!.string('NewConfigAnchor');
            break;
          }
          case 'GetConfigData':
            // Everything but the anchor is what the real WSUS said, the language list included.
            assert.deepEqual(leafValues(result, new Set(['NewConfigAnchor'])), leafValues(realResult, new Set(['NewConfigAnchor'])), `${id}: values`);
            assert.match(textAt(result, 'NewConfigAnchor')!, /^[0-9]+,[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}$/);
            break;
          case 'GetRevisionIdList': {
            assert.match(textAt(result, 'Anchor')!, /^[0-9]+,[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}$/);
            const listed = identities(elementsAt(result, 'NewRevisions'));
            const realListed = identities(elementsAt(realResult, 'NewRevisions'));
            assert.equal(new Set(listed.map((k) => k.split('/')[0])).size, listed.length, `${id}: one entry per update`);
            // Revisions the real WSUS listed that this catalog holds at the same revision are listed too.
            for (const key of realListed) {
              const [updateId, revision] = key.split('/') as [string, string];
              const held = await store.catalogGraph.latestOf([updateId]);
              if (held[0]?.revisionNumber === Number(revision)) assert.ok(listed.includes(key), `${id}: ${key} listed`);
            }
            if (id === '000006') {
              for (const key of ['56309036-4c77-4dd9-951a-99ee9c246a94/101', '6964aab4-c5b5-43bd-a17d-ffb4346a8e1d/100', 'dd78b8a1-0b20-45c1-add6-4da72e9364cf/202']) {
                assert.ok(listed.includes(key), `${id}: category ${key}`);
              }
              assert.ok(!listed.some((k) => docText.has(k) && !k.startsWith('56309036') && !k.startsWith('6964aab4') && !k.startsWith('dd78b8a1')));
            }
            if (id === '000009' || id === '000010') {
              // The real bundle, everything it bundles that is stored (nested bundles too), not the older delta.
              for (const key of [
                'a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe/200',
                'ccb78947-6453-4ecc-9de8-bc0305c98f2d/200',
                '1f9bd9bb-7390-4aa3-bbdb-ded99fac2583/200',
                '266f6222-c89d-43f2-9f8a-69340271e677/200',
                'ff36f0b5-dded-4780-8664-cd78af8b62c1/200',
              ]) {
                assert.ok(listed.includes(key), `${id}: ${key}`);
              }
              assert.ok(!listed.includes('7366a74a-ef29-44e1-b738-570b516aca1f/200'), `${id}: a delta no bundle names is not listed`);
              assert.ok(listed.every((k) => stored.has(k.split('/')[0]!)));
            }
            if (id === '000009') state.syncAnchor = textAt(result, 'Anchor')!;
            break;
          }
          case 'GetUpdateData': {
            const mineData = updateData(mine);
            const realData = updateData(real);
            assert.deepEqual(
              mineData.map((u) => ({ ...u, blob: undefined })),
              realData.map((u) => ({ ...u, blob: undefined })),
              `${id}: identities, digests and compression`,
            );
            for (let i = 0; i < realData.length; i++) {
              assert.equal(mineData[i]!.blob, realData[i]!.blob, `${id}: the document`);
              assert.equal(mineData[i]!.blob, docText.get(mineData[i]!.id), `${id}: the stored document`);
            }
            const urls = (root: XmlElement) =>
              elementsAt(root, `${RESULT('GetUpdateData')}/fileUrls`).map((u) => ({ digest: textAt(u, 'FileDigest'), mu: textAt(u, 'MUUrl') }));
            assert.deepEqual(urls(mine), urls(real), `${id}: file URLs`);
            for (const u of elementsAt(mine, `${RESULT('GetUpdateData')}/fileUrls`)) {
              const digest = textAt(u, 'FileDigest')!;
              assert.ok(REAL_MU_URLS[digest]);
              const hex = Buffer.from(digest, 'base64').toString('hex').toUpperCase();
              assert.equal(textAt(u, 'UssUrl'), `${upstream.origin}/Content/${hex.slice(-2)}/${hex}.exe`);
            }
            break;
          }
          default:
            assert.fail(`${id}: no check for ${action}`);
        }
      }
    });
  },
  { timeout: 300_000 },
);
