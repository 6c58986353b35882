// Deferred downloads in `openwsus serve`: an approval made through the administration API wakes
// the content downloader, so the update's files come down at once rather than at its next check
// (content.checkIntervalSeconds, set to an hour here). The real server in this process, files
// from a small stand-in for Microsoft Update. An approval from another process (the CLI) is seen
// at the next check: test/integration/content.test.ts.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULTS } from '../../src/app/config.ts';
import { createLogger } from '../../src/app/log.ts';
import { startServer } from '../../src/app/server.ts';
import { createToken } from '../../src/admin/operations/accounts.ts';
import { ALL_COMPUTERS_GROUP_ID } from '../../src/domain/wellknown.ts';
import { contentPath, type UpdateFile } from '../../src/domain/update.ts';
import { openStore } from '../../src/store/index.ts';
import { guid, makeRevision } from '../store/records.ts';

function payloadFile(name: string, bytes: Buffer): UpdateFile {
  return { sha1: createHash('sha1').update(bytes).digest('base64'), fileName: name, size: bytes.length };
}

test('an approval through the API has its files downloaded at once, not at the next check', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'openwsus-wake-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bodies = { first: randomBytes(3000), second: randomBytes(4000) };
  const files = { first: payloadFile('first.cab', bodies.first), second: payloadFile('second.cab', bodies.second) };
  const mu = createServer((req, res) => {
    const body = bodies[(req.url ?? '').slice(1) as keyof typeof bodies];
    res.writeHead(body === undefined ? 404 : 200).end(body);
  });
  await new Promise<void>((resolve) => mu.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => mu.close(() => resolve())));
  const address = mu.address();
  const origin = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;

  const [first, second] = [guid(1), guid(2)];
  const store = await openStore({ dataDir: dir });
  await store.catalog.upsertRevisions([
    makeRevision({ updateId: first, revisionNumber: 1, files: [files.first], muUrls: { [files.first.sha1]: `${origin}/first` } }),
    makeRevision({ updateId: second, revisionNumber: 1, files: [files.second], muUrls: { [files.second.sha1]: `${origin}/second` } }),
  ]);
  await store.settings.set('content.checkIntervalSeconds', 3600);
  // Approved before the start: its file marks the end of the downloader's first look.
  await store.approvals.upsert([{ id: randomBytes(16).toString('hex'), updateId: first, revisionNumber: 1, groupId: ALL_COMPUTERS_GROUP_ID, action: 'Install', adminName: 'test', createdAt: new Date().toISOString() }]);
  await store.close();

  const env = process.env.OPENWSUS_ADMIN_PASSWORD;
  process.env.OPENWSUS_ADMIN_PASSWORD = 'correct horse battery staple';
  const server = await startServer({ ...DEFAULTS, data: dir, host: '127.0.0.1', port: 0, httpsPort: 0, logLevel: 'silent' }, createLogger('silent')).finally(() => {
    if (env === undefined) delete process.env.OPENWSUS_ADMIN_PASSWORD;
    else process.env.OPENWSUS_ADMIN_PASSWORD = env;
  });
  t.after(() => server.close());
  const published = (f: UpdateFile): boolean => existsSync(join(dir, 'content', contentPath(f)));
  const until = async (what: string, check: () => boolean, ms: number): Promise<void> => {
    for (const deadline = Date.now() + ms; !check(); await sleep(25)) assert.ok(Date.now() < deadline, `${what} within ${ms} ms`);
  };
  await until('the file approved before the start', () => published(files.first), 20_000);
  assert.equal(published(files.second), false, 'not approved yet');

  // Now the downloader sleeps for an hour, unless woken.
  const { token } = await createToken(server.store, { name: 'tests', account: 'admin', createdBy: 'tests' });
  const res = await fetch(`${server.listeners[0]!.url}/api/v1/updates/approve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ updateIds: [second], groupId: ALL_COMPUTERS_GROUP_ID, action: 'Install' }),
  });
  assert.equal(res.status, 200, await res.text());
  await until('the file approved through the API', () => published(files.second), 10_000);
});
