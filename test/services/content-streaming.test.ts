// Streaming behaviour of the content route: a multi-MB file fetched the way Delivery Optimization
// fetches it, clients hanging up mid-file (no descriptor may outlive them), and a client that
// stops reading (the server must wait for it, not read the file into memory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomInt } from 'node:crypto';
import { connect } from 'node:net';
import { Agent, Pool, request } from 'undici';
import {
  abortedDownload,
  descriptorCount,
  descriptorsUnder,
  eventually,
  placeSparse,
  publishRandom,
  requestText,
  startContentServer,
} from './content-server.ts';
import { BIG_TRANSFERS, bigTransfersInUse } from '../../src/services/content/send.ts';
import { nativeSendfile } from '../../src/services/content/native-sendfile.ts';

const MiB = 1024 * 1024;
const onLinux = process.platform === 'linux';

// Every behaviour on both transfer paths: sendfile(2) where the native module is built (the
// default on Linux) and the copy through memory that HTTPS and other systems use.
for (const zeroCopy of [true, false]) {
  const path = zeroCopy ? 'sendfile' : 'copy';
  test(`a multi-MB file fetched as shuffled 1 MiB ranges over 7 connections reassembles to its SHA-1 (${path})`, async (t) => {
    const server = await startContentServer(t, { zeroCopy });
    const size = 24 * MiB + 654_321;
    const item = await publishRandom(server.store, size, 'windows11.0-kb5040442-x64.cab');
    const pool = new Pool(server.origin, { connections: 7, pipelining: 1 });
    t.after(() => pool.close());

    const pieces = Array.from({ length: Math.ceil(size / MiB) }, (_, i) => i);
    for (let i = pieces.length - 1; i > 0; i -= 1) {
      const j = randomInt(i + 1);
      [pieces[i], pieces[j]] = [pieces[j]!, pieces[i]!];
    }
    const assembled = Buffer.alloc(size);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < pieces.length) {
        const index = pieces[next++]!;
        const start = index * MiB;
        const end = Math.min(size, start + MiB) - 1;
        const response = await pool.request({
          path: item.url,
          method: 'GET',
          headers: { range: `bytes=${start}-${end}`, 'user-agent': 'Microsoft-Delivery-Optimization/10.1' },
        });
        assert.equal(response.statusCode, 206);
        assert.equal(response.headers['content-range'], `bytes ${start}-${end}/${size}`);
        const body = Buffer.from(await response.body.arrayBuffer());
        assert.equal(body.length, end - start + 1);
        body.copy(assembled, start);
      }
    };
    await Promise.all(Array.from({ length: 7 }, lane));
    assert.equal(createHash('sha1').update(assembled).digest('hex').toUpperCase(), item.sha1Hex);

    // And once more in one piece, hashed as it streams.
    const whole = await request(`${server.origin}${item.url}`);
    const hash = createHash('sha1');
    for await (const chunk of whole.body) hash.update(chunk as Buffer);
    assert.equal(hash.digest('hex').toUpperCase(), item.sha1Hex);
  });

  test(`clients hanging up mid-download leave no open file behind and the server keeps serving (${path})`, async (t) => {
    // Files stay open for reuse for openFileTtlMs; a short window makes "closed" observable.
    const server = await startContentServer(t, { openFileTtlMs: 100, zeroCopy });
    const item = await publishRandom(server.store, 40 * MiB, 'big.exe');
    // Settle descriptors that belong to the first connections (none of them are content files).
    const warmup = new Agent();
    await request(`${server.origin}${item.url}`, { headers: { range: 'bytes=0-0' }, dispatcher: warmup }).then((r) => r.body.dump());
    await warmup.close();
    if (onLinux) assert.ok(await eventually(async () => (await descriptorsUnder(server.store.root)) === 0), 'the reuse window ended');
    const baselineAll = await descriptorCount();
    // A leaked FileHandle may be closed by the garbage collector before we look; Node says so.
    const gcClosed: string[] = [];
    const onWarning = (warning: Error): void => {
      if (/file descriptor|FileHandle/i.test(warning.message)) gcClosed.push(warning.message);
    };
    process.on('warning', onWarning);
    t.after(() => process.off('warning', onWarning));

    const hangUps: Promise<void>[] = [];
    for (let i = 0; i < 60; i += 1) {
      const afterBytes = [0, 1, 64 * 1024, 3 * MiB][i % 4]!;
      const headers: Record<string, string> = i % 3 === 0 ? { Range: `bytes=${MiB}-${30 * MiB}` } : {};
      hangUps.push(abortedDownload(server.port, item.url, afterBytes, headers));
      if (hangUps.length === 10) await Promise.all(hangUps.splice(0));
    }
    await Promise.all(hangUps);

    // undici's own abort, mid-body, too.
    for (let i = 0; i < 10; i += 1) {
      const controller = new AbortController();
      const dispatcher = new Agent();
      const response = await request(`${server.origin}${item.url}`, { signal: controller.signal, dispatcher });
      let seen = 0;
      await assert.rejects(
        (async () => {
          for await (const chunk of response.body) {
            seen += (chunk as Buffer).length;
            if (seen > MiB) controller.abort();
          }
        })(),
      );
      await dispatcher.destroy();
    }

    if (onLinux) {
      assert.ok(await eventually(async () => (await descriptorsUnder(server.store.root)) === 0), 'a content file is still open');
      assert.ok(
        await eventually(async () => (await descriptorCount())! <= baselineAll!),
        `descriptors: ${await descriptorCount()} now, ${baselineAll} before`,
      );
    }
    assert.deepEqual(gcClosed, [], 'file handles were left for the garbage collector');
    assert.ok(await eventually(async () => bigTransfersInUse() === 0), 'aborted transfers still hold big-chunk slots');
    const after = await request(`${server.origin}${item.url}`);
    const hash = createHash('sha1');
    for await (const chunk of after.body) hash.update(chunk as Buffer);
    assert.equal(hash.digest('hex').toUpperCase(), item.sha1Hex);
  });

  test(`a client that stops reading holds the server back instead of filling its memory (${path})`, async (t) => {
    const server = await startContentServer(t, { openFileTtlMs: 100, zeroCopy });
    const size = 256 * MiB;
    const path = await placeSparse(server.store, `AB/${'C'.repeat(38)}AB.esd`, size);
    assert.ok(path.endsWith('.esd'));
    const socket = connect({ port: server.port, host: '127.0.0.1' });
    t.after(() => socket.destroy());
    socket.pause();
    const before = process.memoryUsage().arrayBuffers;
    await new Promise<void>((resolve) => socket.write(requestText('GET', `/Content/AB/${'C'.repeat(38)}AB.esd`), () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 750));
    const grown = process.memoryUsage().arrayBuffers - before;
    // Socket buffers and one read chunk may fill; the file may not (it is 256 MiB).
    assert.ok(grown < 48 * MiB, `buffered ${Math.round(grown / MiB)} MiB for a stalled client`);
    if (onLinux) assert.equal(await descriptorsUnder(server.store.root), 1, 'the file stays open while the client is connected');
    socket.destroy();
    if (onLinux) assert.ok(await eventually(async () => (await descriptorsUnder(server.store.root)) === 0), 'closed when the client went');
  });

  test(`a client that takes nothing for the stall timeout is dropped, and its file closed (${path})`, async (t) => {
    const server = await startContentServer(t, { stallTimeoutMs: 400, openFileTtlMs: 100, zeroCopy });
    const name = `${'D'.repeat(38)}AB.esd`;
    await placeSparse(server.store, `AB/${name}`, 256 * MiB);
    const socket = connect({ port: server.port, host: '127.0.0.1' });
    t.after(() => socket.destroy());
    socket.pause();
    socket.write(requestText('GET', `/Content/AB/${name}`));
    if (!onLinux) return;
    assert.ok(await eventually(async () => (await descriptorsUnder(server.store.root)) === 1, 2000), 'the download started');
    assert.ok(await eventually(async () => (await descriptorsUnder(server.store.root)) === 0, 5000), 'the stalled download was dropped');
    assert.equal(socket.destroyed, false, 'the client did nothing itself');
  });
}

test('more concurrent transfers than big-chunk slots: the rest go in small chunks, all bytes right (copy)', async (t) => {
  const server = await startContentServer(t, { zeroCopy: false });
  const size = 6 * MiB + 999;
  const item = await publishRandom(server.store, size, 'many.cab');
  const clients = BIG_TRANSFERS + 24;
  const agent = new Agent({ connections: clients, pipelining: 1 });
  t.after(() => agent.close());
  let peak = 0;
  const results = await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      const start = (i * 97_531) % (size - MiB);
      const response = await request(`${server.origin}${item.url}`, { dispatcher: agent, headers: { range: `bytes=${start}-${start + 3 * MiB}` } });
      peak = Math.max(peak, bigTransfersInUse());
      const body = Buffer.from(await response.body.arrayBuffer());
      return { start, body, status: response.statusCode };
    }),
  );
  for (const { start, body, status } of results) {
    assert.equal(status, 206);
    assert.ok(body.equals(item.bytes.subarray(start, Math.min(size, start + 3 * MiB + 1))), `range at ${start}`);
  }
  assert.ok(peak <= BIG_TRANSFERS, `peak ${peak} big transfers`);
  assert.ok(await eventually(async () => bigTransfersInUse() === 0));
});

test('the native sendfile module is built and loaded on Linux', { skip: !onLinux || /^(0|off|false|no)$/i.test(process.env.OPENWSUS_CONTENT_SENDFILE ?? '') }, () => {
  assert.ok(nativeSendfile(), 'build/native/sendfile.node is missing: `npm ci` builds it (scripts/build-native.ts needs cc)');
});

test('a server closing right after a sendfile transfer does not wait for the keep-alive timeout', async (t) => {
  const server = await startContentServer(t);
  const item = await publishRandom(server.store, 4 * MiB, 'closing.cab');
  const pool = new Pool(server.origin, { connections: 2, pipelining: 1 });
  t.after(() => pool.destroy());
  for (let i = 0; i < 4; i += 1) {
    const response = await pool.request({ path: item.url, method: 'GET', headers: { range: `bytes=${i * MiB}-${(i + 1) * MiB - 1}` } });
    assert.equal(Buffer.from(await response.body.arrayBuffer()).length, MiB);
  }
  // The client holds every byte; the server may not have ended the last response yet.
  const started = Date.now();
  await server.app.close();
  assert.ok(Date.now() - started < 10_000, `close took ${Date.now() - started} ms`);
});
