// The engine against a stand-in upstream made of what a real WSUS sent (fixtures
// wsus-m0-wsusss/exchanges): its handshake and GetConfigData answers verbatim, its GetUpdateData
// answers verbatim for the four revisions captured (one of them a CAB-compressed blob), and the
// other real documents of the fixtures in the same envelope. The real GetConfigData says 100
// revisions a call; the stand-in says 1, so each captured answer is the whole answer to a call.
// The revision list names the nine real documents (the captured lists name revisions whose
// documents were not captured).
//
// Then the same stand-in turned bad, one way at a time, each on a fresh database: malformed XML,
// a truncated CAB blob, file digests that are not the document's, a fault, an answer that never
// ends, a redirect loop. Each ends the run with a clear recorded error, keeps what complete
// batches stored (exactly the real documents) and no phase anchor it did not finish; a following
// good run completes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after } from 'node:test';
import { ANCHORS } from '../../src/domain/sync-run.ts';
import { WINDOWS_PRODUCT_FAMILY_ID } from '../../src/domain/wellknown.ts';
import type { Store } from '../../src/store/index.ts';
import { synchronize, SyncError } from '../../src/sync/index.ts';
import { forEachBackend } from '../support/db.ts';
import { fixturePath } from '../support/fixtures.ts';
import { realDocuments } from '../services/upstream-harness.ts';

const EXCHANGES = fixturePath('wsus-m0-wsusss/exchanges');
const real = (n: number): string => readFileSync(join(EXCHANGES, String(n).padStart(6, '0'), 'response.body'), 'utf8');

const docs = realDocuments();
/** The captured GetUpdateData answers, by the one revision each was asked for. */
const captured = new Map<string, string>();
for (const n of [13, 14, 15, 16]) {
  const body = real(n);
  const id = /<UpdateID>([^<]+)<\/UpdateID><RevisionNumber>([0-9]+)</.exec(body)!;
  captured.set(`${id[1]}/${id[2]}`, body);
}
const escape = (s: string): string => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/**
 * A real revision list answer with the nine documents in place of its list, all in the config
 * list: the fixtures hold no classification document, without which a downstream asks for no
 * updates, and the engine stores whatever revisions a list names.
 */
function revisionList(config: boolean): string {
  const keys = config ? docs : [];
  const list = keys.map((d) => `<UpdateIdentity><UpdateID>${d.updateId}</UpdateID><RevisionNumber>${d.revisionNumber}</RevisionNumber></UpdateIdentity>`).join('');
  return real(6).replace(/<NewRevisions>.*<\/NewRevisions>/s, `<NewRevisions>${list}</NewRevisions>`);
}

/** GetUpdateData for one revision: the captured answer, else the document in a real envelope. */
function updateData(key: string): string {
  const answer = captured.get(key);
  if (answer !== undefined) return answer;
  const doc = docs.find((d) => `${d.updateId}/${d.revisionNumber}` === key);
  if (doc === undefined) throw new Error(`the stand-in has no ${key}`);
  const [updateId, revisionNumber] = key.split('/');
  const element = `<ServerSyncUpdateData><Id><UpdateID>${updateId}</UpdateID><RevisionNumber>${revisionNumber}</RevisionNumber></Id><XmlUpdateBlob>${escape(doc.xml)}</XmlUpdateBlob></ServerSyncUpdateData>`;
  return real(15).replace(/<updates>.*<\/updates>/s, `<updates>${element}</updates>`).replace(/<fileUrls>.*<\/fileUrls>|<fileUrls \/>/s, '<fileUrls />');
}

type Misbehaviour = 'malformed' | 'truncated-cab' | 'wrong-digest' | 'fault' | 'endless' | 'redirect-loop';
let misbehaviour: Misbehaviour | undefined;
let updateDataCalls = 0;
const hanging = new Set<ServerResponse>();

async function readBody(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

const standIn = createServer(async (req, res) => {
  const body = await readBody(req);
  const operation = String(req.headers.soapaction ?? '').replace(/"/g, '').split('/').pop();
  const send = (xml: string, status = 200): void => {
    res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8' });
    res.end(xml);
  };
  if (misbehaviour === 'redirect-loop') {
    res.writeHead(302, { location: req.url ?? '/' });
    res.end();
    return;
  }
  switch (operation) {
    case 'GetAuthConfig':
      return send(real(1));
    case 'GetAuthorizationCookie':
      return send(real(2));
    case 'GetCookie':
      return send(real(3));
    case 'GetConfigData':
      return send(real(5).replace('<MaxNumberOfUpdatesPerRequest>100<', '<MaxNumberOfUpdatesPerRequest>1<'));
    case 'GetRevisionIdList':
      return send(revisionList(/<GetConfig>true<\/GetConfig>/.test(body)));
    case 'GetUpdateData': {
      updateDataCalls++;
      const asked = [...body.matchAll(/<UpdateID>([^<]+)<\/UpdateID><RevisionNumber>([0-9]+)</g)].map((m) => `${m[1]}/${m[2]}`);
      assert.equal(asked.length, 1, 'one revision a call, as the stand-in said');
      const answer = updateData(asked[0]!);
      // The second call goes wrong (and, for the endless answer, its retries): the first batch is
      // stored, the phase is not finished.
      if ((updateDataCalls === 2 || (misbehaviour === 'endless' && updateDataCalls > 2)) && misbehaviour !== undefined) {
        if (misbehaviour === 'malformed') return send(answer.slice(0, Math.floor(answer.length / 2)));
        if (misbehaviour === 'fault') return send(real(17), 500);
        if (misbehaviour === 'endless') {
          res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
          res.write(answer.slice(0, 200));
          hanging.add(res);
          const drip = setInterval(() => (res.writableEnded || res.destroyed ? clearInterval(drip) : res.write(' ')), 20);
          res.once('close', () => clearInterval(drip));
          return;
        }
      }
      if (misbehaviour === 'truncated-cab' && answer.includes('<XmlUpdateBlobCompressed>')) {
        return send(answer.replace(/(<XmlUpdateBlobCompressed>)([^<]+)</, (_, open: string, blob: string) => `${open}${blob.slice(0, Math.floor(blob.length / 2) & ~3)}<`));
      }
      if (misbehaviour === 'wrong-digest' && answer.includes('<FileDigestList>')) {
        return send(answer.replace(/(<FileDigestList><base64Binary>)[^<]+</, '$1AAAAAAAAAAAAAAAAAAAAAAAAAA=<'));
      }
      return send(answer);
    }
    default:
      return send(real(19), 500);
  }
});
await new Promise<void>((resolve) => standIn.listen(0, '127.0.0.1', resolve));
const port = (standIn.address() as { port: number }).port;
after(async () => {
  for (const res of hanging) res.destroy();
  await new Promise((resolve) => standIn.close(resolve));
});

async function configure(store: Store): Promise<void> {
  await store.settings.set('upstream.source', 'server');
  await store.settings.set('upstream.server', '127.0.0.1');
  await store.settings.set('upstream.port', port);
  await store.settings.set('products', [WINDOWS_PRODUCT_FAMILY_ID]);
}

const quick = { retry: { attempts: 2, baseDelayMs: 5 }, serverName: 'replay.test' } as const;

async function storedXml(store: Store): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const d of docs) {
    const r = await store.catalog.getRevision({ updateId: d.updateId, revisionNumber: d.revisionNumber });
    if (r !== undefined) out.set(`${d.updateId}/${d.revisionNumber}`, r.xml);
  }
  return out;
}

forEachBackend('the engine stores the real documents a real WSUS sent, exactly', async ({ store }) => {
  await configure(store);
  misbehaviour = undefined;
  updateDataCalls = 0;
  const report = await synchronize({ store, ...quick });
  assert.equal(report.run.result, 'succeeded');
  assert.equal(report.run.counts.categories, docs.length);
  const stored = await storedXml(store);
  assert.equal(stored.size, docs.length);
  for (const d of docs) assert.equal(stored.get(`${d.updateId}/${d.revisionNumber}`), d.xml, `${d.updateId} stored as the fixture holds it`);
  assert.equal(updateDataCalls, docs.length);
  // The real GetConfigData: its 39 languages less the "all" pseudo-entry (LanguageID 0), its anchor.
  assert.equal((await store.languages.list()).length, 38);
  assert.equal(await store.anchors.get(ANCHORS.config), '9438,2026-10-04 16:33:26.670');
  assert.equal(await store.anchors.get(ANCHORS.categories), '9438,2026-10-04 16:33:26.671');
  // The file of the CAB-compressed document, with the download address WSUS gave.
  const file = await store.files.get('h/W9BGlYUAaqXTp30cZi/SiV3c0=');
  assert.equal(file?.muUrl, 'http://download.windowsupdate.com/c/msdownload/update/software/defu/2026/10/am_delta_87f5bd0469585006aa5d3a77d1c662fd2895ddcd.exe');
});

const CASES: readonly { readonly kind: Misbehaviour; readonly error: RegExp; readonly storedBefore: boolean }[] = [
  { kind: 'malformed', error: /unusable answer from the upstream server at http:\/\/127\.0\.0\.1:\d+ \(GetUpdateData: .*(XML|xml)/, storedBefore: true },
  { kind: 'truncated-cab', error: /broke the protocol: GetUpdateData: the compressed document of 266f6222-c89d-43f2-9f8a-69340271e677\/200 cannot be read \(truncated cabinet/, storedBefore: true },
  { kind: 'wrong-digest', error: /file digest/i, storedBefore: true },
  { kind: 'fault', error: /answered with a .*InternalServerError/, storedBefore: true },
  { kind: 'endless', error: /cannot reach the upstream server at .*GetUpdateData: no complete answer within 400 ms/, storedBefore: true },
  { kind: 'redirect-loop', error: /GetAuthConfig: HTTP 302; a redirect, which a synchronization does not follow/, storedBefore: false },
];

for (const c of CASES) {
  forEachBackend(`an upstream that misbehaves (${c.kind}) ends the run with a clear error and loses nothing`, async ({ t, store }) => {
    await configure(store);
    misbehaviour = c.kind;
    updateDataCalls = 0;
    const error = await synchronize({ store, ...quick, timeoutMs: 400 }).then(
      () => assert.fail('the run should fail'),
      (e: unknown) => e as SyncError,
    );
    assert.ok(error instanceof SyncError, String(error));
    t.diagnostic(error.message);
    assert.match(error.message, c.error);
    const [run] = await store.syncRuns.list({ limit: 1 });
    assert.equal(run?.result, 'failed');
    assert.equal(run?.error, error.message, 'the error is recorded as said');
    // What complete batches stored are real documents, whole; the unfinished phase has no anchor.
    const stored = await storedXml(store);
    for (const [key, xml] of stored) assert.equal(xml, docs.find((d) => `${d.updateId}/${d.revisionNumber}` === key)!.xml);
    if (!c.storedBefore) assert.equal(stored.size, 0);
    const anchors = await store.anchors.all();
    if (c.kind !== 'truncated-cab' && c.kind !== 'wrong-digest') assert.equal(anchors[ANCHORS.categories], undefined, JSON.stringify(anchors));
    // The upstream behaves again: the next run completes the metadata.
    misbehaviour = undefined;
    updateDataCalls = 0;
    assert.equal((await synchronize({ store, ...quick })).run.result, 'succeeded');
    assert.equal((await storedXml(store)).size, docs.length, 'every document, none twice');
    assert.equal(updateDataCalls, docs.length - stored.size, 'only what was missing is fetched');
    // The phase transactions are the same on both backends (engine.test.ts runs them on each).
  }, { only: ['sqlite'] });
}
