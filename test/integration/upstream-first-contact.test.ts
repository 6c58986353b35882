// Many downstream servers reaching a freshly started root at once (the morning after a restart):
// each handshake admits its server, and each first GetConfigData hands out a config anchor that
// is current, so the next GetConfigData with it omits the language list (WSUS-PROTOCOLS §2.4).
// Several front ends noticing a config change at once may each take a position (accepted in
// src/store/config-version-repository.ts); one process must not.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { availableBackends } from '../support/db.ts';
import { ScriptedDownstream } from '../support/scripted-downstream.ts';
import { createBackendDatabase, startServeProcess } from '../support/server-process.ts';

for (const dialect of availableBackends()) {
  test(`12 downstreams at once on a fresh root: each first config anchor is current [${dialect}]`, { timeout: 60_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), `openwsus-it-contact-${dialect}-`));
    const db = await createBackendDatabase(dialect, dataDir);
    const server = await startServeProcess({ dataDir, database: db.url });
    const downstreams = Array.from(
      { length: 12 },
      (_, i) => new ScriptedDownstream({ url: server.url, id: `f1c00000-0000-4000-8000-${String(i).padStart(12, '0')}`, retain: 'none' }),
    );
    try {
      // Handshakes first, so the GetConfigData calls reach the server together.
      await Promise.all(downstreams.map((d) => d.cookie()));
      const first = await Promise.all(downstreams.map((d) => d.getConfigData()));
      assert.ok(first.every((c) => c.languages.length > 0), 'a first GetConfigData lists the languages');
      for (const [i, d] of downstreams.entries()) d.anchors = { config: first[i]!.newConfigAnchor };
      const second = await Promise.all(downstreams.map((d) => d.getConfigData()));
      assert.deepEqual(
        second.map((c) => c.languages.length),
        downstreams.map(() => 0),
        `config anchors handed out: ${first.map((c) => c.newConfigAnchor.split(',')[0]).join(' ')}`,
      );
    } finally {
      await Promise.all(downstreams.map((d) => d.close()));
      await server.stop();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}
