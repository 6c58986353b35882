// The sync's dispatcher from the settings (src/sync/transport.ts): what the plan holds for each
// combination of settings, and, against small loopback servers, that the CA file is trusted and
// that a proxy's 407 is explained by the scheme the proxy asks for, the password never shown.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { request } from 'undici';
import { resolveDownstreamSettings, SettingError, validateSettingValue, type DownstreamSettings } from '../../src/domain/settings.ts';
import { openStore } from '../../src/store/index.ts';
import { sealSecret } from '../../src/sync/secrets.ts';
import { createSyncTransport, dispatcherOptions, isPermanentTransportFailure, planTransport, proxyAccount } from '../../src/sync/transport.ts';
import { createTestPki } from '../support/tls.ts';

const PASSWORD = 'S3cret-pa55 wörd';

function settings(stored: Record<string, unknown>): DownstreamSettings {
  const { settings: s, problems } = resolveDownstreamSettings(stored);
  assert.deepEqual(problems, []);
  return s;
}

const decodeBasic = (value: string | undefined): string => Buffer.from(value!.replace(/^Basic /, ''), 'base64').toString('utf8');

test('no proxy and no CA file: a plain Agent with the default trust', () => {
  const plan = planTransport(settings({ 'proxy.host': 'proxy.example', 'proxy.user': 'alice' }));
  assert.deepEqual(plan, {});
  assert.deepEqual(dispatcherOptions(plan), { kind: 'agent', options: {} });
});

test('a CA file is trusted besides the default CAs, direct and through a proxy (CONNECT)', () => {
  const direct = planTransport(settings({ 'upstream.caFile': '/etc/ca.pem' }), { caPem: 'PEM', defaultCa: ['ROOT1', 'ROOT2'] });
  assert.deepEqual(direct.ca, ['ROOT1', 'ROOT2', 'PEM']);
  assert.deepEqual(dispatcherOptions(direct), { kind: 'agent', options: { connect: { ca: ['ROOT1', 'ROOT2', 'PEM'] } } });
  const proxied = dispatcherOptions(planTransport(settings({ 'proxy.enabled': true, 'proxy.host': 'proxy.example' }), { caPem: 'PEM', defaultCa: [] }));
  assert.deepEqual(proxied, { kind: 'proxy', options: { uri: 'http://proxy.example:80', proxyTunnel: false, requestTls: { ca: ['PEM'] } } });
  // Without the defaultCa override the process's default CAs come first.
  assert.ok(planTransport(settings({}), { caPem: 'PEM' }).ca!.length > 1);
});

test('upstream.caFile must be an absolute path', () => {
  assert.equal(validateSettingValue('upstream.caFile', '/etc/ssl/wsus-ca.pem'), '/etc/ssl/wsus-ca.pem');
  assert.equal(validateSettingValue('upstream.caFile', 'C:\\certs\\ca.pem'), 'C:\\certs\\ca.pem');
  assert.throws(() => validateSettingValue('upstream.caFile', 'ca.pem'), /absolute path/);
});

test('a proxy with a domain user and basic allowed: Basic DOMAIN\\user credentials in a header, not in the URL', () => {
  const plan = planTransport(
    settings({ 'proxy.enabled': true, 'proxy.host': 'proxy.example', 'proxy.port': 3128, 'proxy.user': 'alice', 'proxy.domain': 'CORP', 'proxy.allowBasicAuth': true }),
    { password: PASSWORD },
  );
  assert.equal(plan.proxy?.uri, 'http://proxy.example:3128');
  assert.equal(plan.proxy?.account, 'CORP\\alice');
  assert.equal(decodeBasic(plan.proxy?.authorization), `CORP\\alice:${PASSWORD}`);
  const built = dispatcherOptions(plan);
  assert.equal(built.kind, 'proxy');
  assert.equal(built.kind === 'proxy' && built.options.token, plan.proxy?.authorization);
  assert.ok(!(built.kind === 'proxy' && String(built.options.uri).includes('alice')), 'no credentials in the proxy URL');
  assert.equal(proxyAccount('bob', undefined), 'bob');
});

test('basic not allowed: no credentials are sent, and the password is not needed', () => {
  const plan = planTransport(settings({ 'proxy.enabled': true, 'proxy.host': 'proxy.example', 'proxy.user': 'alice' }));
  assert.deepEqual(plan.proxy, { uri: 'http://proxy.example:80', account: 'alice', basicWithheld: true });
  const built = dispatcherOptions(plan);
  assert.ok(built.kind === 'proxy' && built.options.token === undefined);
});

test('an IPv6 proxy address is bracketed; missing host or password are setting errors', () => {
  assert.equal(planTransport(settings({ 'proxy.enabled': true, 'proxy.host': '::1', 'proxy.port': 8080 })).proxy?.uri, 'http://[::1]:8080');
  assert.throws(() => planTransport(settings({ 'proxy.enabled': true })), (e: unknown) => e instanceof SettingError && e.key === 'proxy.host');
  assert.throws(
    () => planTransport(settings({ 'proxy.enabled': true, 'proxy.host': 'p', 'proxy.user': 'alice', 'proxy.allowBasicAuth': true })),
    (e: unknown) => e instanceof SettingError && e.key === 'proxy.password',
  );
});

// ---- with the store and real sockets ------------------------------------------------------------

const pki = await createTestPki();
after(() => pki.cleanup());
const caFile = join(pki.dir, 'ca.pem');

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

test('createSyncTransport opens the sealed password and reads the CA file, or says which setting is wrong', async () => {
  const store = await openStore({ database: 'sqlite::memory:' });
  try {
    const sealed = await sealSecret(store.settings, PASSWORD);
    const base = { 'proxy.enabled': true, 'proxy.host': '127.0.0.1', 'proxy.user': 'alice', 'proxy.password': sealed, 'proxy.allowBasicAuth': true };
    const transport = await createSyncTransport(settings({ ...base, 'upstream.caFile': caFile }), store.settings);
    try {
      assert.equal(decodeBasic(transport.plan.proxy?.authorization), `alice:${PASSWORD}`);
      assert.ok(transport.plan.ca!.includes(await readFile(caFile, 'utf8')));
    } finally {
      await transport.close();
    }
    await assert.rejects(createSyncTransport(settings({ 'upstream.caFile': join(pki.dir, 'absent.pem') }), store.settings), (e: unknown) => e instanceof SettingError && e.key === 'upstream.caFile' && /cannot read/.test(e.message));
    await writeFile(join(pki.dir, 'not-pem.txt'), 'hello');
    await assert.rejects(createSyncTransport(settings({ 'upstream.caFile': join(pki.dir, 'not-pem.txt') }), store.settings), /holds no PEM certificate/);
    await assert.rejects(createSyncTransport(settings({ ...base, 'proxy.password': { sealed: 'garbage' } }), store.settings), (e: unknown) => e instanceof SettingError && e.key === 'proxy.password');
  } finally {
    await store.close();
  }
});

test('an HTTPS server with a private CA: trusted with upstream.caFile, else a clear certificate error', async () => {
  const server = createHttpsServer({ cert: await readFile(pki.certPath), key: await readFile(pki.keyPath) }, (_req, res) => res.end('ok'));
  const port = await listen(server);
  const url = `https://127.0.0.1:${port}/x`;
  const store = await openStore({ database: 'sqlite::memory:' });
  try {
    const trusted = await createSyncTransport(settings({ 'upstream.caFile': caFile }), store.settings);
    const answer = await request(url, { dispatcher: trusted.dispatcher });
    assert.equal(await answer.body.text(), 'ok');
    await trusted.close();

    const plain = await createSyncTransport(settings({}), store.settings);
    const error = await request(url, { dispatcher: plain.dispatcher }).then(
      () => assert.fail('an untrusted certificate was accepted'),
      (e: unknown) => e,
    );
    assert.ok(isPermanentTransportFailure(error), String(error));
    assert.match((await plain.explainFailure(error, url))!, /certificate of https:\/\/127\.0\.0\.1:\d+ is not trusted \([A-Z_]+\): .*set upstream\.caFile/);
    await plain.close();
  } finally {
    await store.close();
  }
});

/** A proxy that refuses everything with 407 and the given challenge, and records what it was sent. */
async function refusingProxy(challenge: string): Promise<{ port: number; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    res.writeHead(407, { 'proxy-authenticate': challenge, connection: 'close' }).end('auth');
  });
  server.on('connect', (req: IncomingMessage, socket) => {
    seen.push(req);
    socket.end(`HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: ${challenge}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  });
  return { port: await listen(server), seen };
}

async function failureThrough(proxyPort: number, stored: Record<string, unknown>, target: string): Promise<{ message: string; error: unknown }> {
  const store = await openStore({ database: 'sqlite::memory:' });
  try {
    const withPassword = 'proxy.password' in stored ? { ...stored, 'proxy.password': await sealSecret(store.settings, String(stored['proxy.password'])) } : stored;
    const transport = await createSyncTransport(settings({ 'proxy.enabled': true, 'proxy.host': '127.0.0.1', 'proxy.port': proxyPort, ...withPassword }), store.settings);
    try {
      const error = await request(target, { method: 'POST', body: 'x', dispatcher: transport.dispatcher }).then(
        () => assert.fail('the proxy let the request through'),
        (e: unknown) => e,
      );
      assert.ok(isPermanentTransportFailure(error), `not seen as a 407: ${String(error)}`);
      const message = await transport.explainFailure(error, target);
      assert.ok(message !== undefined);
      return { message, error };
    } finally {
      await transport.close();
    }
  } finally {
    await store.close();
  }
}

for (const target of ['http://127.0.0.1:9/ServerSyncWebService', 'https://127.0.0.1:9/ServerSyncWebService']) {
  const how = target.startsWith('https') ? 'tunnelled (CONNECT)' : 'forwarded';
  test(`a 407 asking for Basic, ${how}: off, or credentials refused, without the password [${target.split(':')[0]}]`, async () => {
    const proxy = await refusingProxy('Basic realm="corp"');
    const off = await failureThrough(proxy.port, { 'proxy.user': 'alice', 'proxy.password': PASSWORD }, target);
    assert.match(off.message, /the proxy asks for basic authentication, which is off \(proxy\.allowBasicAuth\)/);
    assert.equal(proxy.seen[0]?.headers['proxy-authorization'], undefined, 'nothing sent without allowBasicAuth');

    const refused = await failureThrough(proxy.port, { 'proxy.user': 'alice', 'proxy.domain': 'CORP', 'proxy.password': PASSWORD, 'proxy.allowBasicAuth': true }, target);
    assert.match(refused.message, /407 Proxy Authentication Required.*did not accept the credentials of CORP\\alice/);
    const sent = proxy.seen.map((r) => r.headers['proxy-authorization']).find((h) => h !== undefined);
    assert.equal(decodeBasic(sent as string), `CORP\\alice:${PASSWORD}`);
    for (const text of [off.message, refused.message, String(refused.error), JSON.stringify(refused.error)]) assert.ok(!text.includes(PASSWORD), text);

    const anonymous = await failureThrough(proxy.port, {}, target);
    assert.match(anonymous.message, /set proxy\.user and proxy\.password/);
  });

  test(`a 407 asking for NTLM or Negotiate only, ${how}: not supported, said plainly`, async () => {
    const proxy = await refusingProxy('NTLM');
    const { message } = await failureThrough(proxy.port, { 'proxy.user': 'alice', 'proxy.password': PASSWORD, 'proxy.allowBasicAuth': true }, target);
    assert.match(message, /asks for ntlm.*NTLM and Negotiate \(Kerberos\) proxy authentication are not supported/);
  });
}

test('a forwarded 401 is the proxy\'s when it answers our credentials so in its own realm (tinyproxy), else the upstream\'s', async () => {
  // Like tinyproxy: 407 without credentials, 401 with WWW-Authenticate in the same realm for wrong ones.
  const tiny = createServer((req, res) => {
    const realm = 'Basic realm="Tinyproxy"';
    if (req.headers['proxy-authorization'] === undefined) res.writeHead(407, { 'proxy-authenticate': realm, connection: 'close' }).end();
    else res.writeHead(401, { 'www-authenticate': realm, connection: 'close' }).end('<html>Unauthorized</html>');
  });
  const tinyPort = await listen(tiny);
  const target = 'http://127.0.0.1:9/ServerSyncWebService/ServerSyncWebService.asmx';
  const store = await openStore({ database: 'sqlite::memory:' });
  try {
    const stored = { 'proxy.enabled': true, 'proxy.host': '127.0.0.1', 'proxy.user': 'alice', 'proxy.password': await sealSecret(store.settings, PASSWORD), 'proxy.allowBasicAuth': true };
    const { soapCall } = await import('../../src/soap/index.ts');
    const call = async (port: number): Promise<{ error: unknown; message: string | undefined }> => {
      const transport = await createSyncTransport(settings({ ...stored, 'proxy.port': port }), store.settings);
      try {
        const error = await soapCall({ url: target, namespace: 'urn:x', operation: 'Op', dispatcher: transport.dispatcher }).then(
          () => assert.fail('the call succeeded'),
          (e: unknown) => e,
        );
        return { error, message: await transport.explainFailure(error, target) };
      } finally {
        await transport.close();
      }
    };
    const viaTiny = await call(tinyPort);
    assert.match(viaTiny.message!, /401 Unauthorized \(its answer to credentials it refuses\) \(it asks for basic\); it did not accept the credentials of alice/);

    // A proxy that lets us through to an upstream answering 401 itself: not the proxy's doing.
    const passing = createServer((req, res) => {
      if (req.headers['proxy-authorization'] === undefined) res.writeHead(407, { 'proxy-authenticate': 'Basic realm="corp"', connection: 'close' }).end();
      else res.writeHead(401, { 'www-authenticate': 'Negotiate', connection: 'close' }).end();
    });
    const viaPassing = await call(await listen(passing));
    assert.equal(viaPassing.message, undefined);
    assert.ok(!isPermanentTransportFailure(viaPassing.error));
  } finally {
    await store.close();
  }
});
