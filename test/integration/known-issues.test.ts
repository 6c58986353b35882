// Problems in src/ found while writing the multi-process tests, each as a test that fails today.
// They are marked `todo` (reported, not failing the suite); drop the mark with the fix.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeGeneratedCatalog } from '../../src/catalog/export.ts';
import { runCli } from '../support/cli.ts';
import { availableBackends } from '../support/db.ts';
import { ScriptedDownstream, SERVER_SYNC_NS, SERVER_SYNC_PATH } from '../support/scripted-downstream.ts';
import { createBackendDatabase, startServeProcess } from '../support/server-process.ts';

const MiB = 1024 * 1024;

function tempDir(t: { after: (fn: () => void) => void }, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `openwsus-it-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// src/soap/service.ts (with fastify's body limit): a request body over the SOAP limit (8 MiB)
// gets its InvalidParameters fault at once, with `Connection: close`, and the socket is closed
// without reading the rest of the body. A client still sending (every HTTP/1.1 client sends the
// whole request before it reads) gets EPIPE or ECONNRESET, and often never sees the fault (3 of
// 10 tries with undici here); RFC 9112 §9.6 asks for a lingering close (keep reading what the
// client sends, then close), as nginx and IIS do. The server itself is unharmed
// (upstream.test.ts sends such bodies while a downstream synchronizes).
test(
  'a client that sends a 10 MB request body can send all of it and read the fault (lingering close)',
  { todo: 'src/soap/service.ts closes the connection without reading the rest of the body', timeout: 60_000 },
  async (t) => {
    const server = await startServeProcess({ dataDir: tempDir(t, 'linger') });
    try {
      const size = 10 * MiB;
      const answer = await new Promise<{ written: number; error?: string; status: number }>((resolve) => {
        const socket = connect(server.port, '127.0.0.1');
        const chunks: Buffer[] = [];
        let written = 0;
        let error: string | undefined;
        socket.on('data', (c) => chunks.push(c));
        socket.on('error', (e) => (error = (e as NodeJS.ErrnoException).code ?? e.message));
        socket.on('close', () => {
          const status = Number(/^HTTP\/1\.1 ([0-9]{3})/.exec(Buffer.concat(chunks).toString('latin1'))?.[1]);
          resolve({ written, ...(error !== undefined && { error }), status });
        });
        socket.write(
          `POST ${SERVER_SYNC_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml; charset=utf-8\r\n` +
            `SOAPAction: "${SERVER_SYNC_NS}/GetUpdateData"\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`,
        );
        const block = Buffer.alloc(64 * 1024, 0x20);
        const pump = (): void => {
          while (written < size && !socket.destroyed) {
            const n = Math.min(block.length, size - written);
            written += n;
            if (!socket.write(block.subarray(0, n))) return void socket.once('drain', pump);
          }
        };
        pump();
      });
      assert.deepEqual(answer, { written: size, status: 500 });
    } finally {
      await server.stop();
    }
  },
);

// src/app/server.ts: close() closes the listeners (fastify's forceCloseConnections destroys the
// sockets of requests still running) and then the store at once, while those requests' handlers
// go on and reach a closed store: "driver has already been destroyed", logged at level error for
// each. A shutdown should stop taking requests, let the running ones finish (up to a bound),
// and only then close the store. (On SQLite each query runs to its end synchronously, so the
// window is too narrow to hit; PostgreSQL's queries leave it open.)
for (const dialect of availableBackends().filter((d) => d === 'postgres')) {
  test(
    `SIGTERM while downstreams synchronize: running requests finish, nothing is logged as an error [${dialect}]`,
    { timeout: 120_000 },
    async (t) => {
      const dataDir = tempDir(t, 'sigterm');
      const db = await createBackendDatabase(dialect, dataDir);
      t.after(() => db.drop());
      const catalog = join(dataDir, 'catalog.owx');
      await writeGeneratedCatalog({ updates: 1500, seed: 'sigterm' }, catalog);
      const imported = await runCli(['--data', dataDir, '--database', db.url, 'import', catalog]);
      assert.equal(imported.code, 0, imported.stderr);
      const server = await startServeProcess({ dataDir, database: db.url });
      const downstreams = Array.from({ length: 6 }, (_, i) => new ScriptedDownstream({ url: server.url, id: `5197e000-0000-4000-8000-00000000000${i}`, retain: 'none' }));
      try {
        const syncs = downstreams.map((d) => d.sync().then(() => 'done', (e: Error) => e.message));
        // Once every downstream is fetching update batches, stop the server.
        const deadline = Date.now() + 60_000;
        while (!downstreams.every((d) => d.revisions.size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 200));
        const stopped = await server.stop();
        await Promise.all(syncs);
        assert.deepEqual(stopped, { code: 0, signal: null });
        const errors = server.output().split('\n').filter((l) => /"level":(5|6)0/.test(l));
        assert.deepEqual(errors, []);
      } finally {
        await Promise.all(downstreams.map((d) => d.close()));
        if (server.running()) await server.stop();
      }
    },
  );
}

// src/catalog/export.ts: `extra.onProgress?.(++done, catalog.size)` increments `done` only when
// onProgress is given (optional call short-circuits its arguments), so without one the result
// says `documents: 0` (bench/upstream.ts and these tests call it without onProgress).
test('writeGeneratedCatalog counts the documents it wrote without an onProgress', async (t) => {
  const result = await writeGeneratedCatalog({ updates: 100, seed: 'count' }, join(tempDir(t, 'count'), 'c.owx'));
  assert.equal(result.documents, 100);
});
