// HTTP semantics of `/Content/XX/SHA1HEX.ext`: status codes, ranges, validators and conditionals,
// name handling, against a real server on loopback with undici and a raw socket as clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import {
  placeSparse,
  publishRandom,
  rawExchange,
  requestText,
  startContentServer,
  type ContentServer,
  type Published,
} from './content-server.ts';

const SIZE = 3 * 1024 * 1024 + 12_345;

async function fixture(t: Parameters<typeof startContentServer>[0]): Promise<{ server: ContentServer; item: Published }> {
  const server = await startContentServer(t);
  const item = await publishRandom(server.store, SIZE, 'windows10.0-kb5034441-x64.EXE');
  return { server, item };
}

async function get(server: ContentServer, path: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  const response = await request(`${server.origin}${path}`, { method, headers });
  const body = Buffer.from(await response.body.arrayBuffer());
  return { status: response.statusCode, headers: response.headers, body };
}

async function lastModifiedOf(server: ContentServer, item: Published): Promise<string> {
  const stats = await stat(server.store.pathOf(item.file));
  return new Date(Math.floor(stats.mtimeMs / 1000) * 1000).toUTCString();
}

test('a full GET returns the exact bytes with length, validators and no encoding', async (t) => {
  const { server, item } = await fixture(t);
  // Clients offer encodings (WUA offers xpress for SOAP); content is never encoded.
  const r = await get(server, item.url, { 'accept-encoding': 'gzip, deflate, br, xpress' });
  assert.equal(r.status, 200);
  assert.ok(r.body.equals(item.bytes));
  assert.equal(r.headers['content-length'], String(SIZE));
  assert.equal(r.headers['accept-ranges'], 'bytes');
  assert.equal(r.headers['content-type'], 'application/octet-stream');
  assert.equal(r.headers.etag, `"${item.sha1Hex.toLowerCase()}:0"`);
  assert.equal(r.headers['last-modified'], await lastModifiedOf(server, item));
  assert.equal(r.headers['content-encoding'], undefined);
  assert.equal(r.headers['transfer-encoding'], undefined);
  assert.equal(r.headers['content-range'], undefined);
});

test('the ETag is stable: same across requests and across a re-publish of the same bytes', async (t) => {
  const { server, item } = await fixture(t);
  const first = await get(server, item.url, {}, 'HEAD');
  const second = await get(server, item.url, { range: 'bytes=0-9' });
  assert.equal(first.headers.etag, second.headers.etag);
  await server.store.publishFromStream(item.file, Readable.from([item.bytes]));
  const third = await get(server, item.url, {}, 'HEAD');
  assert.equal(third.headers.etag, first.headers.etag);
});

test('HEAD gives the GET headers and no body', async (t) => {
  const { server, item } = await fixture(t);
  const head = await rawExchange(server.port, requestText('HEAD', item.url), { head: true });
  const full = await get(server, item.url);
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  for (const name of ['content-length', 'accept-ranges', 'content-type', 'etag', 'last-modified', 'server']) {
    assert.equal(head.headers[name], full.headers[name], name);
  }
  const ranged = await rawExchange(server.port, requestText('HEAD', item.url, { Range: 'bytes=100-199' }), { head: true });
  assert.equal(ranged.status, 206);
  assert.equal(ranged.headers['content-range'], `bytes 100-199/${SIZE}`);
  assert.equal(ranged.headers['content-length'], '100');
});

test('every single-range form answers 206 with the exact Content-Range and bytes', async (t) => {
  const { server, item } = await fixture(t);
  const mib = 1024 * 1024;
  const cases: [string, number, number][] = [
    ['bytes=0-1048575', 0, mib - 1],
    [`bytes=${mib}-${2 * mib - 1}`, mib, 2 * mib - 1],
    [`bytes=${3 * mib}-${SIZE - 1}`, 3 * mib, SIZE - 1],
    [`bytes=0-${SIZE - 1}`, 0, SIZE - 1],
    ['bytes=0-0', 0, 0],
    [`bytes=${SIZE - 1}-${SIZE - 1}`, SIZE - 1, SIZE - 1],
    [`bytes=${SIZE - 10}-${SIZE + 5000}`, SIZE - 10, SIZE - 1], // last-pos past the end is clamped
    ['bytes=3000000-', 3_000_000, SIZE - 1],
    ['bytes=-500', SIZE - 500, SIZE - 1],
    [`bytes=-${SIZE * 2}`, 0, SIZE - 1], // a suffix longer than the file is the file
    ['Bytes = 10-19', 10, 19], // unit is case-insensitive; whitespace tolerated
    ['bytes=10-19,', 10, 19], // empty list elements do not count
  ];
  for (const [range, start, end] of cases) {
    const r = await get(server, item.url, { range });
    assert.equal(r.status, 206, range);
    assert.equal(r.headers['content-range'], `bytes ${start}-${end}/${SIZE}`, range);
    assert.equal(r.headers['content-length'], String(end - start + 1), range);
    assert.equal(r.headers['accept-ranges'], 'bytes', range);
    assert.ok(r.body.equals(item.bytes.subarray(start, end + 1)), range);
  }
});

test('unsatisfiable ranges answer 416 with Content-Range: bytes */size', async (t) => {
  const { server, item } = await fixture(t);
  for (const range of [`bytes=${SIZE}-`, `bytes=${SIZE}-${SIZE + 10}`, `bytes=${SIZE * 3}-${SIZE * 4}`, 'bytes=500-100', 'bytes=-0', 'bytes=99999999999999999999-']) {
    const r = await get(server, item.url, { range });
    assert.equal(r.status, 416, range);
    assert.equal(r.headers['content-range'], `bytes */${SIZE}`, range);
    assert.equal(r.body.length, 0, range);
  }
});

test('ranges we do not honour get the whole file with 200: several ranges, other units, garbage', async (t) => {
  const { server, item } = await fixture(t);
  for (const range of ['bytes=0-99,200-299', 'bytes=0-0, -1', 'items=0-5', 'bytes=abc', 'bytes=-', 'bytes=1-2-3', 'bytes 0-5']) {
    const r = await get(server, item.url, { range });
    assert.equal(r.status, 200, range);
    assert.equal(r.headers['content-range'], undefined, range);
    assert.ok(r.body.equals(item.bytes), range);
  }
});

test('If-Range keeps the range only for our exact ETag or Last-Modified', async (t) => {
  const { server, item } = await fixture(t);
  const etag = `"${item.sha1Hex.toLowerCase()}:0"`;
  const lastModified = await lastModifiedOf(server, item);
  const range = 'bytes=100-199';
  const kept = [etag, lastModified];
  const dropped = ['"809ce85db53add1:0"', `W/${etag}`, 'Thu, 01 Jan 2004 00:00:00 GMT', 'not a validator'];
  for (const ifRange of kept) {
    const r = await get(server, item.url, { range, 'if-range': ifRange });
    assert.equal(r.status, 206, ifRange);
    assert.ok(r.body.equals(item.bytes.subarray(100, 200)));
  }
  for (const ifRange of dropped) {
    const r = await get(server, item.url, { range, 'if-range': ifRange });
    assert.equal(r.status, 200, ifRange);
    assert.equal(r.body.length, SIZE, ifRange);
  }
});

test('If-None-Match and If-Modified-Since answer 304 with validators and no body', async (t) => {
  const { server, item } = await fixture(t);
  const etag = `"${item.sha1Hex.toLowerCase()}:0"`;
  const lastModified = await lastModifiedOf(server, item);
  const later = new Date(Date.parse(lastModified) + 3600_000).toUTCString();
  const earlier = new Date(Date.parse(lastModified) - 3600_000).toUTCString();
  const notModified: Record<string, string>[] = [
    { 'if-none-match': etag },
    { 'if-none-match': `W/${etag}` }, // If-None-Match compares weakly
    { 'if-none-match': `"other", ${etag}` },
    { 'if-none-match': '*' },
    { 'if-modified-since': lastModified },
    { 'if-modified-since': later },
    { 'if-none-match': etag, range: 'bytes=0-9' },
  ];
  for (const headers of notModified) {
    for (const method of ['GET', 'HEAD'] as const) {
      const r = await get(server, item.url, headers, method);
      assert.equal(r.status, 304, `${method} ${JSON.stringify(headers)}`);
      assert.equal(r.headers.etag, etag);
      assert.equal(r.headers['last-modified'], lastModified);
      assert.equal(r.body.length, 0);
    }
  }
  const modified: Record<string, string>[] = [
    { 'if-none-match': '"other"' },
    { 'if-modified-since': earlier },
    { 'if-modified-since': 'yesterday-ish' }, // not a date: ignored
    { 'if-none-match': '"other"', 'if-modified-since': later }, // If-None-Match wins
  ];
  for (const headers of modified) {
    const r = await get(server, item.url, headers);
    assert.equal(r.status, 200, JSON.stringify(headers));
    assert.equal(r.body.length, SIZE);
  }
});

test('If-Match and If-Unmodified-Since fail with 412 when they do not hold', async (t) => {
  const { server, item } = await fixture(t);
  const etag = `"${item.sha1Hex.toLowerCase()}:0"`;
  const lastModified = await lastModifiedOf(server, item);
  const earlier = new Date(Date.parse(lastModified) - 3600_000).toUTCString();
  assert.equal((await get(server, item.url, { 'if-match': '"other"' })).status, 412);
  assert.equal((await get(server, item.url, { 'if-match': `W/${etag}` })).status, 412); // strong comparison
  assert.equal((await get(server, item.url, { 'if-unmodified-since': earlier })).status, 412);
  assert.equal((await get(server, item.url, { 'if-match': etag, range: 'bytes=0-9' })).status, 206);
  assert.equal((await get(server, item.url, { 'if-match': '*' })).status, 200);
  assert.equal((await get(server, item.url, { 'if-unmodified-since': lastModified })).status, 200);
});

test('paths, digests and extensions are case-insensitive', async (t) => {
  const { server, item } = await fixture(t);
  const [, , folder, name] = item.url.split('/') as [string, string, string, string];
  const [hex, ext] = name.split('.') as [string, string];
  const variants = [
    `/Content/${folder}/${hex}.${ext}`,
    `/content/${folder.toLowerCase()}/${hex.toLowerCase()}.${ext.toUpperCase()}`,
    `/CONTENT/${folder}/${hex.toLowerCase()}.Exe`,
    `/cOnTeNt/${folder.toLowerCase()}/${hex}.EXE`,
  ];
  assert.equal(ext, 'exe', 'the store keeps the extension lower-case on disk');
  for (const path of variants) {
    const r = await get(server, path, { range: 'bytes=0-1023' });
    assert.equal(r.status, 206, path);
    assert.ok(r.body.equals(item.bytes.subarray(0, 1024)), path);
  }
});

test('a digest without an extension is 403, as WSUS answers', async (t) => {
  const { server, item } = await fixture(t);
  const noExt = item.url.replace(/\.exe$/, '');
  for (const path of [noExt, `${noExt}.`, noExt.toLowerCase()]) {
    assert.equal((await get(server, path)).status, 403, path);
    assert.equal((await get(server, path, {}, 'HEAD')).status, 403, path);
  }
});

test('wrong folder, other extension, missing file and malformed names are 404', async (t) => {
  const { server, item } = await fixture(t);
  const hex = item.sha1Hex;
  const folder = hex.slice(-2);
  const otherFolder = folder === '00' ? '01' : '00';
  // A real digest whose update is not downloaded yet.
  const absent = 'DA39A3EE5E6B4B0D3255BFEF95601890AFD80709';
  const paths = [
    `/Content/${otherFolder}/${hex}.exe`,
    `/Content/${hex.slice(0, 2)}/${hex}.exe`.replace(`/${folder}/`, `/${otherFolder}/`),
    `/Content/${folder}/${hex}.cab`,
    `/Content/09/${absent}.exe`,
    `/Content/${folder}/${hex.slice(1)}.exe`,
    `/Content/${folder}/0${hex}.exe`,
    `/Content/${folder}/${hex.slice(0, -1)}G.exe`,
    `/Content/${folder}/${hex}.exe.exe`,
    `/Content/${folder}/${hex}.e~e`,
    `/Content/${folder.slice(1)}/${hex}.exe`,
    `/Content/${folder}/x/${hex}.exe`,
    `/Content/${folder}`,
    `/Content/${hex}.exe`,
  ];
  for (const path of paths) {
    const r = await get(server, path);
    assert.equal(r.status, 404, path);
    assert.notEqual(r.headers['content-type'], 'application/octet-stream', path);
  }
  assert.equal((await get(server, `/Content/09/${absent}.exe`, {}, 'HEAD')).status, 404);
});

test('traversal attempts never reach a file outside the content root', async (t) => {
  const { server, item } = await fixture(t);
  // Bait beside the content root, named as a naive join of the request path would find it.
  const secret = 'TOP SECRET, NOT CONTENT';
  await writeFile(join(server.dataDir, 'secret.exe'), secret);
  await writeFile(join(server.dataDir, `${item.sha1Hex}.exe`), secret);
  const folder = item.sha1Hex.slice(-2);
  const paths = [
    '/Content/../secret.exe',
    '/Content/../../secret.exe',
    '/Content/%2e%2e/secret.exe',
    '/Content/%2E%2E/%2e%2e/secret.exe',
    `/Content/${folder}/..%2fsecret.exe`,
    `/Content/${folder}/..%2F..%2Fsecret.exe`,
    `/Content/..%2f${folder}/${item.sha1Hex}.exe`,
    `/Content/${folder}%2f..%2f../${item.sha1Hex}.exe`,
    `/Content/${folder}/..%5c..%5csecret.exe`,
    `/Content/${folder}/..\\..\\secret.exe`,
    `/Content/${folder}\\..\\..\\${item.sha1Hex}.exe`,
    `/Content/${folder}/${item.sha1Hex}.exe%00.txt`,
    `/Content/${folder}/${item.sha1Hex}%00.exe`,
    `/Content/%00/${item.sha1Hex}.exe`,
    `/Content/${folder}/%2e%2e%2f%2e%2e%2f${item.sha1Hex}.exe`,
    `/Content/./../${item.sha1Hex}.exe`,
    `/Content/${folder}/%252e%252e%252fsecret.exe`,
  ];
  for (const path of paths) {
    const r = await rawExchange(server.port, requestText('GET', path));
    assert.ok(r.status === 400 || r.status === 404, `${path}: ${r.statusLine}`);
    assert.ok(!r.body.includes(secret), path);
  }
  // The real file is still served by its real name.
  assert.equal((await get(server, item.url, { range: 'bytes=0-0' })).status, 206);
});

test('an empty file is served with Content-Length 0, and no range of it is satisfiable', async (t) => {
  const server = await startContentServer(t);
  const empty = await publishRandom(server.store, 0, 'empty.cab');
  const full = await get(server, empty.url);
  assert.equal(full.status, 200);
  assert.equal(full.headers['content-length'], '0');
  assert.equal(full.body.length, 0);
  for (const range of ['bytes=0-0', 'bytes=0-', 'bytes=-1']) {
    const r = await get(server, empty.url, { range });
    assert.equal(r.status, 416, range);
    assert.equal(r.headers['content-range'], 'bytes */0');
  }
});

test('a file laid out by hand (no publish) with an upper-case digest is served', async (t) => {
  const server = await startContentServer(t);
  const hex = '0123456789ABCDEF0123456789ABCDEF012345AB';
  await placeSparse(server.store, `AB/${hex}.psf`, 5000);
  const r = await get(server, `/Content/ab/${hex.toLowerCase()}.PSF`, { range: 'bytes=-10' });
  assert.equal(r.status, 206);
  assert.equal(r.headers['content-range'], 'bytes 4990-4999/5000');
  assert.ok(r.body.equals(Buffer.alloc(10)));
});

test('plain content URLs are answered before the router, the rest through it, with the same answer', async (t) => {
  let routed = 0;
  const server = await startContentServer(t, { onRequest: () => (routed += 1) });
  const item = await publishRandom(server.store, SIZE, 'windows10.0-kb5034441-x64.EXE');
  const [, , folder, name] = item.url.split('/') as [string, string, string, string];
  const answers = [];
  for (const path of [item.url, `${item.url}?x=1`, `/Content/${folder}/${name.replace('.', '%2E')}`]) {
    const r = await get(server, path, { range: 'bytes=100-2099' });
    assert.equal(r.status, 206, path);
    assert.ok(r.body.equals(item.bytes.subarray(100, 2100)), path);
    const { date: _date, ...headers } = r.headers;
    answers.push(headers);
  }
  assert.deepEqual(answers[1], answers[0]);
  assert.deepEqual(answers[2], answers[0]);
  assert.equal(routed, 2, 'the plain URL skipped the router; the query and the escape went through it');
  // A miss on a plain URL is the router's 404, problem document and all.
  const missing = await get(server, `/Content/${folder}/${'0'.repeat(38)}${folder}.exe`);
  assert.equal(missing.status, 404);
  assert.equal(missing.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(routed, 3);
});
