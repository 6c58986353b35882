// The handshake and the cookie every later call carries: what a downstream gets, what it is
// refused and with which fault, and the registry of downstream servers with its limit.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SoapFault } from '../../src/soap/index.ts';
import { openStore } from '../../src/store/index.ts';
import { createPostgresDatabase, forEachBackend } from '../support/db.ts';
import {
  authorizationCookie,
  cookieXml,
  DSS_ID,
  handshake,
  withUpstream,
  type Cookie,
  type Upstream,
} from './upstream-harness.ts';

const MINUTE = 60_000;

async function expectFault(call: Promise<unknown>, errorCode: string, message?: string): Promise<SoapFault> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof SoapFault, `expected a SOAP fault, got ${String(error)}`);
    assert.equal(error.errorCode, errorCode, `fault ${error.errorCode} "${error.message}"`);
    if (message !== undefined) assert.equal(error.message, message);
    return error;
  }
  assert.fail(`expected a ${errorCode} fault`);
}

const configData = (u: Upstream, cookie: Cookie) => u.call('GetConfigData', cookieXml(cookie));

function getCookieBody(cookieData: string, protocolVersion = '1.20'): string {
  return (
    `<authCookies><AuthorizationCookie><PlugInId>DssTargeting</PlugInId><CookieData>${cookieData}</CookieData></AuthorizationCookie></authCookies>` +
    `<protocolVersion>${protocolVersion}</protocolVersion>`
  );
}

forEachBackend('the handshake registers the downstream server and hands it a 240-minute cookie', async ({ store }) => {
  await withUpstream(store, async (u) => {
    const config = await u.call('GetAuthConfig');
    const info = config.result!.need('AuthInfo').items();
    assert.equal(info.length, 1);
    assert.equal(info[0]!.string('PlugInID'), 'DssTargeting');
    assert.equal(info[0]!.string('ServiceUrl'), 'DssAuthWebService/DssAuthWebService.asmx');
    assert.equal(info[0]!.string('Parameter'), '');
    assert.equal(config.result!.has('AllowedEventIds'), false);

    const before = Date.now();
    const cookie = await handshake(u, { name: 'wsus-02.corp.example', protocolVersion: '1.7' });
    const expiration = Date.parse(cookie.expiration);
    assert.ok(expiration >= before + 240 * MINUTE && expiration <= Date.now() + 240 * MINUTE);
    const [server] = await store.downstreams.list();
    assert.equal(server!.id, DSS_ID);
    assert.equal(server!.accountName, 'wsus-02.corp.example');
    assert.equal(server!.protocolVersion, '1.7');
    assert.equal(server!.isReplica, false);
    assert.ok(server!.lastContactAt >= server!.firstContactAt);
    // The cookie works, and says nothing readable.
    await configData(u, cookie);
    assert.ok(!Buffer.from(cookie.data, 'base64').toString('latin1').includes(DSS_ID));

    // The same server again is a later contact, not a new one.
    await handshake(u, { name: 'wsus-02.corp.example' });
    assert.equal(await store.downstreams.count(), 1);
  });
});

forEachBackend('every later call refuses a missing, unreadable, forged or expired cookie with InvalidCookie', async ({ store }) => {
  await withUpstream(store, async (u) => {
    const cookie = await handshake(u);
    await expectFault(u.call('GetConfigData'), 'InvalidCookie', '');
    await expectFault(u.call('GetRevisionIdList', '<filter><GetConfig>true</GetConfig></filter>'), 'InvalidCookie', '');
    await expectFault(u.call('GetConfigData', '<cookie><Expiration>2026-10-04T20:33:26Z</Expiration></cookie>'), 'InvalidCookie');
    await expectFault(configData(u, { ...cookie, data: '' }), 'InvalidCookie');
    await expectFault(configData(u, { ...cookie, data: 'not base64!' }), 'InvalidCookie');
    // The sanitized captures' cookie, and a Windows-sized blob of zeros.
    await expectFault(configData(u, { ...cookie, data: 'A'.repeat(432) }), 'InvalidCookie');
    const forged = Buffer.from(cookie.data, 'base64');
    forged[forged.length - 20]! ^= 0x40;
    await expectFault(configData(u, { ...cookie, data: forged.toString('base64') }), 'InvalidCookie');
    // A later clear Expiration changes nothing: the sealed one counts.
    await configData(u, { ...cookie, expiration: '9999-12-31T23:59:59.9999999' });

    u.clock.now = new Date(Date.now() + 241 * MINUTE);
    await expectFault(configData(u, cookie), 'InvalidCookie');
    // The remedy a downstream applies: the handshake again.
    const fresh = await handshake(u);
    await configData(u, fresh);
  });
});

forEachBackend('the cookie lifetime is a setting, and never outlives the authorization cookie', async ({ store }) => {
  await withUpstream(store, async (u) => {
    const start = new Date();
    u.clock.now = start;
    const authorization = await authorizationCookie(u);
    u.clock.now = new Date(start.getTime() + 100 * MINUTE);
    const answer = await u.call('GetCookie', getCookieBody(authorization));
    assert.equal(Date.parse(answer.result!.string('Expiration')), start.getTime() + 240 * MINUTE);

    await store.settings.set('upstream.cookieLifetimeMinutes', 5);
    u.clock.now = start;
    const short = await handshake(u);
    assert.equal(Date.parse(short.expiration), start.getTime() + 5 * MINUTE);
    u.clock.now = new Date(start.getTime() + 4 * MINUTE);
    await configData(u, short);
    u.clock.now = new Date(start.getTime() + 5 * MINUTE);
    await expectFault(configData(u, short), 'InvalidCookie');
  });
});

forEachBackend('another server’s cookie gets ServerChanged', async ({ store, dialect, dataDir }) => {
  // Another openwsus: a database of its own, so another server id and other keys.
  const otherDatabase = dialect === 'postgres' ? await createPostgresDatabase() : undefined;
  const other = await openStore({ database: otherDatabase?.url ?? `sqlite:${join(dataDir, 'other.db')}` });
  try {
    assert.notEqual(other.serverId, store.serverId);
    let foreign: Cookie | undefined;
    await withUpstream(other, async (u) => {
      foreign = await handshake(u);
    });
    await withUpstream(store, async (u) => {
      await expectFault(configData(u, foreign!), 'ServerChanged', '');
      await expectFault(u.call('GetUpdateData', `${cookieXml(foreign!)}<updateIds />`), 'ServerChanged');
      // Its authorization cookie is no good here either.
      await expectFault(u.call('GetCookie', getCookieBody(foreign!.data)), 'InvalidAuthorizationCookie');
    });
  } finally {
    await other.close();
    await otherDatabase?.drop();
  }
});

forEachBackend('keys rotate: older cookies keep working until their key is retired', async ({ store }) => {
  await withUpstream(store, async (u) => {
    const old = await handshake(u);
    await store.serverKeys.rotate();
    // A front end that has not seen the new key yet still opens cookies sealed with it.
    await withUpstream(store, async (fresh) => {
      const current = await handshake(fresh);
      await configData(u, current);
      await configData(fresh, old);
    });
    await store.serverKeys.retireOlder();
    await withUpstream(store, async (fresh) => {
      await expectFault(configData(fresh, old), 'InvalidCookie');
    });
  });
});

forEachBackend('GetCookie refuses bad authorization cookies and protocol versions with the spec’s faults', async ({ store }) => {
  await withUpstream(store, async (u) => {
    const authorization = await authorizationCookie(u);
    const body = (cookies: string, version = '1.20') => `<authCookies>${cookies}</authCookies><protocolVersion>${version}</protocolVersion>`;
    const one = (data: string, plugIn = 'DssTargeting') => `<AuthorizationCookie><PlugInId>${plugIn}</PlugInId><CookieData>${data}</CookieData></AuthorizationCookie>`;

    await expectFault(u.call('GetCookie', body('')), 'InvalidParameters', 'authCookies');
    await expectFault(u.call('GetCookie', body(one(authorization) + one(authorization))), 'InvalidParameters', 'authCookies');
    await expectFault(u.call('GetCookie', body(one('A'.repeat(432)))), 'InvalidAuthorizationCookie', '');
    await expectFault(u.call('GetCookie', body(one('%%%'))), 'InvalidAuthorizationCookie');
    await expectFault(u.call('GetCookie', body(one(authorization, 'SimpleTargeting'))), 'InvalidAuthorizationCookie');
    const forged = Buffer.from(authorization, 'base64');
    forged[30]! ^= 1;
    await expectFault(u.call('GetCookie', body(one(forged.toString('base64')))), 'InvalidAuthorizationCookie');
    // A server cookie is not an authorization cookie.
    const cookie = await handshake(u);
    await expectFault(u.call('GetCookie', body(one(cookie.data))), 'InvalidAuthorizationCookie');

    await expectFault(u.call('GetCookie', body(one(authorization), 'one.twenty')), 'InvalidParameters', 'protocolVersion');
    await expectFault(u.call('GetCookie', `<authCookies>${one(authorization)}</authCookies>`), 'InvalidParameters', 'protocolVersion');
    await expectFault(u.call('GetCookie', body(one(authorization), '2.0')), 'IncompatibleProtocolVersion');

    u.clock.now = new Date(Date.now() + 241 * MINUTE);
    await expectFault(u.call('GetCookie', body(one(authorization))), 'InvalidAuthorizationCookie');
  });
});

forEachBackend('GetAuthorizationCookie wants an FQDN and a GUID', async ({ store }) => {
  await withUpstream(store, async (u) => {
    const call = (name: string, guid: string) => u.call('GetAuthorizationCookie', `<accountName>${name}</accountName><accountGuid>${guid}</accountGuid>`, 'auth');
    await expectFault(call('', DSS_ID), 'InvalidParameters', 'accountName');
    await expectFault(call('bad name!', DSS_ID), 'InvalidParameters', 'accountName');
    await expectFault(u.call('GetAuthorizationCookie', `<accountGuid>${DSS_ID}</accountGuid>`, 'auth'), 'InvalidParameters', 'accountName');
    await expectFault(call('dss.lab.invalid', 'not-a-guid'), 'InvalidParameters', 'accountGuid');
    assert.equal(await store.downstreams.count(), 0);
    // What the real WSUS accepted (capture 000002), braces and upper case too.
    await call('probe.lab.invalid', `{${DSS_ID.toUpperCase()}}`);
    assert.equal((await store.downstreams.get(DSS_ID))?.accountName, 'probe.lab.invalid');
  });
});

const id = (n: number) => `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`;

forEachBackend('past the downstream limit a new server is refused at first contact, with a warning and a task', async ({ store }) => {
  await store.settings.set('upstream.maxDownstreamServers', 2);
  await withUpstream(store, async (u) => {
    await handshake(u, { id: id(1), name: 'one.example' });
    await handshake(u, { id: id(2), name: 'two.example' });
    const refused = await expectFault(authorizationCookie(u, { id: id(3), name: 'three.example' }), 'InvalidParameters');
    assert.match(refused.message, /accepts no more downstream servers \(limit 2\)/);
    assert.equal(await store.downstreams.get(id(3)), undefined);
    assert.equal(await store.downstreams.count(), 2);

    const warning = u.logs.find((l) => l.level === 40 && String(l.msg).includes('three.example'));
    assert.ok(warning, 'a warn log entry');
    const tasks = await store.tasks.list();
    assert.equal(tasks.length, 1);
    assert.equal(tasks[0]!.kind, 'upstream.downstream-limit');
    assert.equal(tasks[0]!.subject, id(3));
    assert.match(tasks[0]!.message, /three\.example .* refused/);

    // Trying again counts on the same task; the servers already registered keep synchronizing.
    await expectFault(authorizationCookie(u, { id: id(3), name: 'three.example' }), 'InvalidParameters');
    const [again] = await store.tasks.list();
    assert.equal(again!.id, tasks[0]!.id);
    assert.equal(again!.occurrences, 2);
    await configData(u, await handshake(u, { id: id(1), name: 'one.example' }));

    // Room again: the administrator removed one; the third gets in.
    await store.downstreams.remove(id(2));
    await handshake(u, { id: id(3), name: 'three.example' });
    assert.ok(await store.tasks.resolve(tasks[0]!.id));
    assert.deepEqual(await store.tasks.list(), []);
    assert.equal((await store.tasks.list({ all: true })).length, 1);
  });
});

forEachBackend('with an allow-list only the listed servers synchronize', async ({ store }) => {
  await withUpstream(store, async (u) => {
    await handshake(u, { id: id(7), name: 'before.example' });
    const cookieBefore = await authorizationCookie(u, { id: id(7), name: 'before.example' });
    await store.settings.set('upstream.allowedDownstreamServers', [id(1)]);
    await handshake(u, { id: id(1) });
    await expectFault(authorizationCookie(u, { id: id(2), name: 'stranger.example' }), 'InvalidParameters');
    assert.equal(await store.downstreams.get(id(2)), undefined);
    // A server registered before the list was set is refused at its next GetCookie.
    await expectFault(u.call('GetCookie', getCookieBody(cookieBefore)), 'InvalidParameters');
    const kinds = (await store.tasks.list()).map((t) => `${t.kind} ${t.subject}`).sort();
    assert.deepEqual(kinds, [`upstream.downstream-not-allowed ${id(2)}`, `upstream.downstream-not-allowed ${id(7)}`]);
  });
});
