// Problems in src/ found while writing the multi-process tests, each kept as a regression test
// once fixed. A problem not yet fixed is marked `todo` (reported, not failing the suite).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeGeneratedCatalog } from '../../src/catalog/export.ts';
import { runCli } from '../support/cli.ts';
import { availableBackends } from '../support/db.ts';
import { ScriptedDownstream } from '../support/scripted-downstream.ts';
import { createBackendDatabase, startServeProcess } from '../support/server-process.ts';

function tempDir(t: { after: (fn: () => void) => void }, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `openwsus-it-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

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
