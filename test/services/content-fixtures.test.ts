// Replays the exact requests a real Windows 11 client (Delivery Optimization) sent to a real WSUS
// (fixtures/wsus-m0-native/content-headers) and compares our answers with the real server's.
// The files are laid out sparse under the captured names and sizes, with the captured
// Last-Modified as mtime, so every derivable header must come out identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { fixturePath, readFixtureText } from '../support/fixtures.ts';
import { parseHead, placeSparse, rawExchange, startContentServer } from './content-server.ts';

const DIR = ['wsus-m0-native', 'content-headers'];
const exchanges = readdirSync(fixturePath(...DIR)).filter((name) => statSync(fixturePath(...DIR, name)).isDirectory());

// What IIS adds that has no meaning here (ASP.NET is not involved), and what Node's keep-alive adds.
const ONLY_THEIRS = new Set(['X-Powered-By']);
const ONLY_OURS = new Set(['Connection', 'Keep-Alive']);
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
// IIS: hex of the FILETIME's bytes + `:` + change number; ours: hex of the SHA-1 + `:0`.
const ETAG_SHAPE = /^"[0-9a-f]+:0"$/;

test('the captured exchanges are all here', () => {
  assert.deepEqual(exchanges.sort(), ['final-range', 'first-range-by-offset', 'middle-range', 'whole-file-single-range']);
});

for (const exchange of exchanges) {
  test(`replaying ${exchange}: same status line, header names and derivable values as the real WSUS`, async (t) => {
    const requestBytes = readFixtureText(...DIR, exchange, 'request.headers');
    const theirs = parseHead(readFixtureText(...DIR, exchange, 'response.headers').replace(/\r\n\r\n$/, ''));
    const meta = JSON.parse(readFixtureText(...DIR, exchange, 'meta.json')) as { path: string; status: number };
    assert.equal(theirs.status, meta.status);

    const total = Number(/\/(\d+)$/.exec(theirs.headers['content-range']!)![1]);
    const server = await startContentServer(t);
    const relPath = meta.path.replace(/^\/Content\//, '');
    await placeSparse(server.store, relPath, total, new Date(theirs.headers['last-modified']!));

    // The request bytes as captured, Host and all.
    const ours = await rawExchange(server.port, requestBytes);

    assert.equal(ours.statusLine, theirs.statusLine);
    const ourNames = ours.fields.map(([name]) => name);
    const theirNames = theirs.fields.map(([name]) => name);
    assert.deepEqual(
      theirNames.filter((n) => !ONLY_THEIRS.has(n)).sort(),
      ourNames.filter((n) => !ONLY_OURS.has(n)).sort(),
      'header names, spelled as IIS spells them',
    );
    for (const name of ['content-type', 'last-modified', 'accept-ranges', 'content-length', 'content-range']) {
      assert.equal(ours.headers[name], theirs.headers[name], name);
    }
    assert.match(theirs.headers.etag!, ETAG_SHAPE);
    assert.match(ours.headers.etag!, ETAG_SHAPE);
    assert.match(theirs.headers.date!, IMF_FIXDATE);
    assert.match(ours.headers.date!, IMF_FIXDATE);
    assert.match(ours.headers.server!, /^openwsus/);
    assert.equal(ours.headers['content-encoding'], undefined);
    assert.equal(ours.headers['transfer-encoding'], undefined);
    assert.equal(ours.body.length, Number(theirs.headers['content-length']));
  });
}
