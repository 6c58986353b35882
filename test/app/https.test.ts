// HTTPS as an admin turns it on: the real server (startServer) with tlsCert/tlsKey from a
// throwaway CA, checked by a client that trusts only that CA; HTTP keeps working beside it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { DEFAULTS, type BootConfig } from '../../src/app/config.ts';
import { createHttpServer } from '../../src/app/http.ts';
import { createLogger } from '../../src/app/log.ts';
import { startServer, type RunningServer } from '../../src/app/server.ts';
import { ContentStore } from '../../src/content/index.ts';
import { contentPath } from '../../src/domain/update.ts';
import { registerContentRoutes } from '../../src/services/content-route.ts';
import { createTestPki, type TestPki } from '../support/tls.ts';

interface AfterHook {
  after(fn: () => Promise<void> | void): void;
}

async function pki(t: AfterHook): Promise<TestPki> {
  const made = await createTestPki();
  t.after(made.cleanup);
  return made;
}

async function tlsServer(t: AfterHook, certs: TestPki): Promise<{ server: RunningServer; http: string; https: string }> {
  const data = await mkdtemp(join(tmpdir(), 'openwsus-https-'));
  const config: BootConfig = {
    ...DEFAULTS,
    data,
    host: '127.0.0.1',
    port: 0,
    httpsPort: 0,
    tlsCert: certs.certPath,
    tlsKey: certs.keyPath,
    logLevel: 'silent',
  };
  const server = await startServer(config, createLogger('silent'));
  t.after(async () => {
    await server.close();
    await rm(data, { recursive: true, force: true });
  });
  const http = server.listeners.find((l) => l.url.startsWith('http:'))?.url;
  const https = server.listeners.find((l) => l.url.startsWith('https:'))?.url;
  assert.ok(http && https, `listeners: ${server.listeners.map((l) => l.url).join(', ')}`);
  return { server, http, https };
}

function trusting(t: AfterHook, ca: string, servername?: string): Agent {
  const agent = new Agent({ connect: { ca, ...(servername ? { servername } : {}) } });
  t.after(() => agent.close());
  return agent;
}

test('the server answers /health over HTTPS to a client that trusts its CA, by IP and by name', async (t) => {
  const certs = await pki(t);
  const { https } = await tlsServer(t, certs);
  const port = new URL(https).port;
  for (const origin of [`https://127.0.0.1:${port}`, `https://localhost:${port}`]) {
    const response = await request(`${origin}/health`, { dispatcher: trusting(t, certs.caCert) });
    assert.equal(response.statusCode, 200, origin);
    const report = (await response.body.json()) as { status: string; version: string };
    assert.equal(report.status, 'ok');
  }
});

test('a client that does not trust the CA, or expects another name, is refused', async (t) => {
  const certs = await pki(t);
  const { https } = await tlsServer(t, certs);
  const untrusting = new Agent();
  t.after(() => untrusting.close());
  await assert.rejects(request(`${https}/health`, { dispatcher: untrusting }), (error: Error & { code?: string }) => {
    assert.match(`${error.code} ${error.message}`, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify|self.signed/i);
    return true;
  });
  // Another CA's certificate must not do either.
  const stranger = await pki(t);
  await assert.rejects(request(`${https}/health`, { dispatcher: trusting(t, stranger.caCert) }));
  await assert.rejects(
    request(`${https}/health`, { dispatcher: trusting(t, certs.caCert, 'wsus.example.org') }),
    (error: Error & { code?: string }) => {
      assert.match(`${error.code} ${error.message}`, /ERR_TLS_CERT_ALTNAME_INVALID|does not match/i);
      return true;
    },
  );
});

test('HTTP keeps serving beside HTTPS, and each port speaks only its own protocol', async (t) => {
  const certs = await pki(t);
  const { http, https } = await tlsServer(t, certs);
  const plain = await request(`${http}/health`);
  assert.equal(plain.statusCode, 200);
  const secure = await request(`${https}/health`, { dispatcher: trusting(t, certs.caCert) });
  assert.equal(secure.statusCode, 200);
  assert.deepEqual(
    ((await plain.body.json()) as { serverId: string }).serverId,
    ((await secure.body.json()) as { serverId: string }).serverId,
  );
  await assert.rejects(request(`${http.replace('http:', 'https:')}/health`, { dispatcher: trusting(t, certs.caCert) }));
});

test('content streams over TLS: ranges and a full download arrive intact', async (t) => {
  const certs = await pki(t);
  const dir = await mkdtemp(join(tmpdir(), 'openwsus-https-content-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = ContentStore.inDataDir(dir);
  const bytes = randomBytes(5 * 1024 * 1024 + 17);
  const file = { sha1: createHash('sha1').update(bytes).digest('base64'), fileName: 'kb.msu', size: bytes.length };
  await store.publishFromStream(file, Readable.from([bytes]));
  const app = await createHttpServer({
    logger: createLogger('silent'),
    health: async () => ({ status: 'ok', version: 'test', serverId: 'test', database: 'none', uptimeSeconds: 0, checks: {} }),
    routes: (instance) => registerContentRoutes(instance, { content: store }),
    tls: { cert: certs.certPath, key: certs.keyPath },
  });
  t.after(() => app.close());
  const origin = await app.listen({ port: 0, host: '127.0.0.1' });
  assert.match(origin, /^https:/);
  const dispatcher = trusting(t, certs.caCert);
  const url = `${origin}/Content/${contentPath(file)}`;

  const ranged = await request(url, { dispatcher, headers: { range: 'bytes=1048576-2097151' } });
  assert.equal(ranged.statusCode, 206);
  assert.equal(ranged.headers['content-range'], `bytes 1048576-2097151/${bytes.length}`);
  assert.ok(Buffer.from(await ranged.body.arrayBuffer()).equals(bytes.subarray(1048576, 2097152)));

  const full = await request(url, { dispatcher });
  assert.equal(full.statusCode, 200);
  assert.ok(Buffer.from(await full.body.arrayBuffer()).equals(bytes));
});
