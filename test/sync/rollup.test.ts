// Reporting rollup end to end in one process (MS-WSUSSS 3.2.4.5): a root R serving the Reporting
// service, an autonomous A rolling up to R (and serving B), a replica B rolling up to A; each with
// computers whose status is stored through the repositories the client services use. On each
// backend: the first rollup carries everything; a second one nothing; a computer whose IP changes
// is resent in full and nothing else is; a rollup that dies half-way is finished by the next with
// nothing twice; an upstream answering busy is waited for and sent to again; detailed rollup off
// stops computer-level rollup; bad rollup calls are refused with nothing stored; a server is named
// upstream by its `server.name`. (test/integration/rollup.test.ts does the same across real processes.)
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { request } from 'undici';
import { createHttpServer } from '../../src/app/http.ts';
import type { UpdateStatus } from '../../src/domain/client-event.ts';
import { ROLLUP_SETTING_KEYS } from '../../src/domain/rollup.ts';
import { UNASSIGNED_COMPUTERS_GROUP_ID } from '../../src/domain/wellknown.ts';
import { registerClientServices } from '../../src/services/client/index.ts';
import { REPORTING_PATHS } from '../../src/services/client/index.ts';
import { rollupOperations } from '../../src/services/reporting/rollup.ts';
import { registerUpstreamServices } from '../../src/services/upstream/index.ts';
import { defineSoapService, registerSoapService } from '../../src/soap/index.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { ROLLUP_DONE_ANCHOR, RollupSchedule, rollUp, type RollupReport } from '../../src/sync/rollup.ts';
import { availableBackends } from '../support/db.ts';
import { createBackendDatabase } from '../support/server-process.ts';

const work = mkdtempSync(join(tmpdir(), 'openwsus-rollup-'));
after(() => rmSync(work, { recursive: true, force: true }));

const UPDATES = Array.from({ length: 6 }, (_, i) => `0000000${i}-1111-4222-8333-444455556666`);
const STATES: readonly UpdateStatus[] = ['Installed', 'NotInstalled', 'Failed', 'InstalledPendingReboot', 'Downloaded', 'NotApplicable'];
const NS = 'http://www.microsoft.com/SoftwareDistribution';
const REPORTING = '/ReportingWebService/ReportingWebService.asmx';

async function serve(store: Store): Promise<{ app: FastifyInstance; port: number }> {
  const sink = new Writable({ write: (_c, _e, done) => done() });
  const app = await createHttpServer({
    logger: pino({ level: 'warn' }, sink),
    health: async () => ({ status: 'ok', version: 'test', serverId: store.serverId, database: store.dialect, uptimeSeconds: 0, checks: {} }),
    routes: async (instance) => {
      await registerUpstreamServices(instance, { store });
      await registerClientServices(instance, { store });
    },
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, port: Number(new URL(url).port) };
}

async function pointAt(store: Store, port: number, replica = false): Promise<void> {
  await store.settings.set('upstream.source', 'server');
  await store.settings.set('upstream.server', '127.0.0.1');
  await store.settings.set('upstream.port', port);
  if (replica) await store.settings.set('upstream.replica', true);
}

/** A computer that registered and reported: statuses picked from STATES by `seed`. */
async function computer(store: Store, name: string, seed: number, ip = '10.0.0.1'): Promise<string> {
  const id = randomUUID();
  await store.computers.touch({ id, dnsName: name, ipAddress: ip, defaultGroupId: UNASSIGNED_COMPUTERS_GROUP_ID });
  await store.computers.register(id, { dnsName: name, osMajor: 10, osMinor: 0, osBuild: 26100, processorArchitecture: 'AMD64', osDescription: 'Windows 11' }, ip);
  const changes = UPDATES.slice(0, 3 + (seed % 3)).map((updateId, i) => ({ updateId, status: STATES[(seed + i) % STATES.length]! }));
  await store.clientEvents.applyStatus(id, [{ replacesAll: true, changes }], new Date());
  await store.computers.markReported(id, new Date());
  return id;
}

/** Rows per update and status string, as `update_status` of a store holds them. */
async function localRows(store: Store): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [updateId, counts] of await store.rollup.localStatusCountsByUpdate()) {
    for (const [status, n] of Object.entries(counts)) out.set(`${updateId}/${status}`, (out.get(`${updateId}/${status}`) ?? 0) + (n ?? 0));
  }
  return out;
}

const STATE_NAMES: Record<number, string> = { 0: 'NotApplicable', 2: 'NotInstalled', 3: 'Downloaded', 4: 'Installed', 5: 'Failed', 6: 'InstalledPendingReboot' };

async function rolledUpRows(store: Store): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const c of await store.rollup.statusCountsByUpdate()) for (const [state, n] of Object.entries(c.states)) out.set(`${c.updateId}/${STATE_NAMES[Number(state)]}`, n);
  return out;
}

function sum(...maps: Map<string, number>[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of maps) for (const [k, v] of m) out.set(k, (out.get(k) ?? 0) + v);
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

function counts(r: RollupReport): Record<string, number> {
  return { computers: r.computers, details: r.details, statusComputers: r.statusComputers, fullStatus: r.fullStatus };
}

async function post(port: number, operation: string, inner: string): Promise<{ status: number; text: string }> {
  const response = await request(`http://127.0.0.1:${port}${REPORTING}`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${NS}/${operation}"` },
    body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><${operation} xmlns="${NS}"><cookie><Expiration>9999-12-31T23:59:59.9999999</Expiration><EncryptedData></EncryptedData></cookie>${inner}</${operation}></soap:Body></soap:Envelope>`,
  });
  return { status: response.statusCode, text: await response.body.text() };
}

const errorCode = (text: string): string | undefined => /<ErrorCode>([^<]*)<\/ErrorCode>/.exec(text)?.[1];

for (const dialect of availableBackends()) {
  test(`rollup: root <- autonomous <- replica, incremental, resumable, detailed off, bad input [${dialect}]`, { timeout: 120_000 }, async (t) => {
    const stores: Record<'r' | 'a' | 'b', Store> = {} as never;
    for (const who of ['r', 'a', 'b'] as const) {
      const dir = mkdtempSync(join(work, `${who}-`));
      const db = await createBackendDatabase(dialect, dir);
      stores[who] = await openStore({ database: db.url, dataDir: dir });
      t.after(async () => {
        await stores[who].close();
        await db.drop();
      });
    }
    const { r, a, b } = stores;
    const root = await serve(r);
    t.after(() => root.app.close());
    const middle = await serve(a);
    t.after(() => middle.app.close());
    await pointAt(a, root.port);
    await pointAt(b, middle.port, true);
    const version = '1.2.3';

    const aIds = [await computer(a, 'a1.corp.example', 0), await computer(a, 'a2.corp.example', 1), await computer(a, 'a3.corp.example', 2)];
    const bIds = [await computer(b, 'b1.corp.example', 3), await computer(b, 'b2.corp.example', 4)];

    // 1. First rollups: B to A, then A to R. Everything goes, in full.
    // B names itself by setting (A by option): upstream it is that name, not the shared host's.
    await b.settings.set('server.name', 'b.corp.example');
    const b1 = await rollUp({ store: b, version });
    assert.equal((await a.downstreams.get(b.serverId))?.accountName, 'b.corp.example', 'the DSS accountName is server.name');
    assert.deepEqual(counts(b1), { computers: 2, details: 2, statusComputers: 2, fullStatus: 2 });
    assert.equal(b1.reset, true);
    const a1 = await rollUp({ store: a, version, serverName: 'a.corp.example' });
    assert.deepEqual(counts(a1), { computers: 5, details: 5, statusComputers: 5, fullStatus: 5 }, 'A sends its own computers and B\'s');
    assert.equal(a1.servers, 2);

    const servers = await r.rollup.servers();
    assert.deepEqual(
      servers.map((s) => [s.name, s.parentId, s.isReplica, s.version, s.summary.ComputerTargetCount]),
      [
        ['a.corp.example', r.serverId, false, '1.2.3', 3],
        ['b.corp.example', a.serverId, true, '1.2.3', 2],
      ],
    );
    assert.deepEqual(servers.find((s) => s.id === b.serverId)!.clientSummaries.map((c) => [c.osMajor, c.osBuild, c.processorArchitecture, c.count]), [[10, 26100, 'AMD64', 2]]);
    const held = await r.rollup.computers();
    assert.deepEqual(
      held.map((c) => [c.fullDomainName, c.parentServerId, c.viaServerId]).sort(),
      [
        ['a1.corp.example', a.serverId, a.serverId],
        ['a2.corp.example', a.serverId, a.serverId],
        ['a3.corp.example', a.serverId, a.serverId],
        ['b1.corp.example', b.serverId, a.serverId],
        ['b2.corp.example', b.serverId, a.serverId],
      ].sort(),
    );
    assert.deepEqual(await rolledUpRows(r), sum(await localRows(a), await localRows(b)), 'R holds exactly the rows A and B hold');

    // 2. Nothing changed: nothing is sent but the servers.
    assert.deepEqual(counts(await rollUp({ store: b, version })), { computers: 0, details: 0, statusComputers: 0, fullStatus: 0 });
    const a2 = await rollUp({ store: a, version });
    assert.deepEqual(counts(a2), { computers: 0, details: 0, statusComputers: 0, fullStatus: 0 });
    assert.equal(a2.reset, false);

    // 3. b1 gets another address: it alone goes again, with its details and its full status.
    await b.computers.touch({ id: bIds[0]!, dnsName: 'b1.corp.example', ipAddress: '10.9.9.9', defaultGroupId: UNASSIGNED_COMPUTERS_GROUP_ID });
    assert.deepEqual(counts(await rollUp({ store: b, version })), { computers: 1, details: 1, statusComputers: 1, fullStatus: 1 });
    assert.deepEqual(counts(await rollUp({ store: a, version })), { computers: 1, details: 1, statusComputers: 1, fullStatus: 1 });
    assert.equal((await r.rollup.computers(b.serverId)).find((c) => c.computerId === bIds[0])!.ipAddress, '10.9.9.9');
    // A status change on a2 is a delta of one row.
    await a.clientEvents.applyStatus(aIds[1]!, [{ replacesAll: false, changes: [{ updateId: UPDATES[0]!, status: 'Installed' }] }], new Date());
    const a3 = await rollUp({ store: a, version });
    assert.deepEqual([a3.statusComputers, a3.fullStatus, a3.statusRows], [1, 0, 1]);
    assert.deepEqual(await rolledUpRows(r), sum(await localRows(a), await localRows(b)));

    // 4. Killed half-way: R takes one computer per status call; the rollup dies after the call
    // for a4 (batches go in name order: a1-a3 have nothing new, then a4).
    await r.settings.set(ROLLUP_SETTING_KEYS.statusBatchSize, 1);
    const more = [await computer(a, 'a4.corp.example', 5), await computer(a, 'a5.corp.example', 6), await computer(a, 'a6.corp.example', 7)];
    await assert.rejects(
      rollUp({
        store: a,
        version,
        onProgress: (p) => {
          if (p.phase === 'status' && p.done === 4) throw new Error('killed');
        },
      }),
      /killed/,
    );
    assert.equal((await r.rollup.statusCountsByComputer()).size, 6, 'one of the three new computers got its status through');
    const resumed = await rollUp({ store: a, version });
    assert.deepEqual([resumed.computers, resumed.statusComputers], [0, 2], 'the next rollup sends the status of the two left');
    assert.equal((await r.rollup.computers()).length, 8, 'no computer twice');
    assert.deepEqual(await rolledUpRows(r), sum(await localRows(a), await localRows(b)), 'no status row twice');
    assert.ok(more.every((id) => id !== undefined));
    await r.settings.set(ROLLUP_SETTING_KEYS.statusBatchSize, 500);

    // 5. Out of sync: R loses what it knew of a1's status; the next rollup resends it in full.
    await r.db.updateTable('rollup_computer' as never).set({ last_received_rollup_number: 0 } as never).where('computer_id' as never, '=', aIds[0] as never).execute();
    const a5 = await rollUp({ store: a, version });
    assert.deepEqual([a5.outOfSync, a5.statusComputers, a5.fullStatus], [1, 1, 1]);

    // 5b. R busy: its first K RollupComputerStatus calls answer false; A waits, sends again, and
    // the rollup completes with every row and K retries. (A second front end on R's store.)
    const BUSY = 3;
    let statusCalls = 0;
    const busyRoot = await createHttpServer({
      logger: pino({ level: 'warn' }, new Writable({ write: (_c, _e, done) => done() })),
      health: async () => ({ status: 'ok', version: 'test', serverId: r.serverId, database: r.dialect, uptimeSeconds: 0, checks: {} }),
      routes: async (instance) => {
        await registerUpstreamServices(instance, { store: r });
        const operations = rollupOperations({ store: r, now: () => new Date(), statusBusy: () => ++statusCalls <= BUSY });
        await registerSoapService(instance, defineSoapService({ name: 'ReportingWebService', paths: REPORTING_PATHS, namespace: NS, operations }));
      },
    });
    const busyPort = Number(new URL(await busyRoot.listen({ port: 0, host: '127.0.0.1' })).port);
    t.after(() => busyRoot.close());
    await a.settings.set('upstream.port', busyPort);
    await a.clientEvents.applyStatus(aIds[2]!, [{ replacesAll: false, changes: [{ updateId: UPDATES[0]!, status: 'NotApplicable' }] }], new Date());
    const waited = await rollUp({ store: a, version, busyDelayMs: 1 });
    assert.deepEqual([waited.busyRetries, waited.statusComputers, waited.statusRows, waited.calls.RollupComputerStatus], [BUSY, 1, 1, BUSY + 1]);
    assert.deepEqual(await rolledUpRows(r), sum(await localRows(a), await localRows(b)), 'the row went up once R had room');
    await a.settings.set('upstream.port', root.port);

    // 6. Bad input: refused, nothing stored.
    const before = { servers: (await r.rollup.servers()).length, computers: (await r.rollup.computers()).length, rows: await rolledUpRows(r) };
    const clientTime = `<clientTime>${new Date().toISOString()}</clientTime>`;
    const serverXml = (id: string, parent: string) =>
      `<DownstreamServerRollupInfo><ServerId>${id}</ServerId><FullDomainName>x.example</FullDomainName><LastSyncTime>2026-01-01T00:00:00Z</LastSyncTime><ParentServerId>${parent}</ParentServerId><Version>1.0</Version><IsReplica>false</IsReplica><LastRollupTime>2026-11-01T00:00:00Z</LastRollupTime></DownstreamServerRollupInfo>`;
    const ZERO = '00000000-0000-0000-0000-000000000000';
    const unknownServer = await post(root.port, 'RollupDownstreamServers', `${clientTime}<downstreamServers>${serverXml(randomUUID(), ZERO)}</downstreamServers>`);
    assert.equal(unknownServer.status, 500);
    assert.equal(errorCode(unknownServer.text), 'InternalServerError', unknownServer.text);
    assert.match(unknownServer.text, /not a downstream server of this server/);
    const unknownParent = await post(root.port, 'RollupDownstreamServers', `${clientTime}<downstreamServers>${serverXml(randomUUID(), randomUUID())}</downstreamServers>`);
    assert.equal(errorCode(unknownParent.text), 'InternalServerError');
    assert.match(unknownParent.text, /unknown to this server/);
    // A reports itself and claims a server that hangs below R directly... through B's id as parent of A.
    const inconsistent = await post(root.port, 'RollupDownstreamServers', `${clientTime}<downstreamServers>${serverXml(a.serverId, ZERO)}${serverXml(randomUUID(), r.serverId)}</downstreamServers>`);
    assert.equal(errorCode(inconsistent.text), 'InvalidParameters', inconsistent.text);
    const computerXml = (id: string, parent: string) => `<ComputerRollupInfo ComputerId="${id}" LastSyncTime="2026-11-01T00:00:00Z" LastSyncResult="1" LastReportedRebootTime="1753-01-01T00:00:00Z" LastReportedStatusTime="1753-01-01T00:00:00Z" LastInventoryTime="1753-01-01T00:00:00Z" ParentServerId="${parent}"/>`;
    const strayComputer = await post(root.port, 'RollupComputers', `${clientTime}<computers>${computerXml(randomUUID(), randomUUID())}</computers>`);
    assert.equal(errorCode(strayComputer.text), 'InternalServerError');
    const statusXml = (id: string, state: string) =>
      `<ComputerStatusRollupInfo><InstanceId>${randomUUID()}</InstanceId><ComputerId>${id}</ComputerId><EffectiveLastDetectionTime>1753-01-01T00:00:00Z</EffectiveLastDetectionTime><RollupNumber>99</RollupNumber><IsFullRollup>true</IsFullRollup><UpdateStatus><ComputerStatusRollupUpdateStatus><UpdateId>${UPDATES[0]}</UpdateId><SummarizationState>${state}</SummarizationState><LastChangeTime>2026-11-01T00:00:00Z</LastChangeTime></ComputerStatusRollupUpdateStatus></UpdateStatus></ComputerStatusRollupInfo>`;
    const malformed = await post(root.port, 'RollupComputerStatus', `${clientTime}<parentServerId>${a.serverId}</parentServerId><computers>${statusXml(aIds[0]!, '4')}${statusXml(aIds[1]!, '9')}</computers>`);
    assert.equal(errorCode(malformed.text), 'InvalidParameters', malformed.text);
    // WSUS names the parameter in Message; the reason goes to the log.
    assert.match(malformed.text, /<Message>computers<\/Message>/);
    await r.settings.set(ROLLUP_SETTING_KEYS.statusBatchSize, 1);
    const oversized = await post(root.port, 'RollupComputerStatus', `${clientTime}<parentServerId>${a.serverId}</parentServerId><computers>${statusXml(aIds[0]!, '4')}${statusXml(aIds[1]!, '4')}</computers>`);
    assert.equal(errorCode(oversized.text), 'InvalidParameters');
    await r.settings.set(ROLLUP_SETTING_KEYS.statusBatchSize, 500);
    const strayStatus = await post(root.port, 'RollupComputerStatus', `${clientTime}<parentServerId>${randomUUID()}</parentServerId><computers>${statusXml(aIds[0]!, '4')}</computers>`);
    assert.equal(errorCode(strayStatus.text), 'InternalServerError');
    assert.deepEqual(
      { servers: (await r.rollup.servers()).length, computers: (await r.rollup.computers()).length, rows: await rolledUpRows(r) },
      before,
      'nothing of the refused calls was stored',
    );

    // 7. Detailed rollup off at R: servers only; computer-level calls are refused.
    await r.settings.set(ROLLUP_SETTING_KEYS.detailed, false);
    await a.clientEvents.applyStatus(aIds[2]!, [{ replacesAll: false, changes: [{ updateId: UPDATES[1]!, status: 'Failed' }] }], new Date());
    const off = await rollUp({ store: a, version });
    assert.deepEqual([off.detailed, off.servers, off.computers, off.statusComputers], [false, 2, 0, 0]);
    const refused = await post(root.port, 'RollupComputers', `${clientTime}<computers>${computerXml(aIds[0]!, a.serverId)}</computers>`);
    assert.match(refused.text, /rollup\.detailed is false/);
    assert.deepEqual(await rolledUpRows(r), before.rows, 'no status went up');

    // 8. `serve`'s schedule: nothing due without a synchronization or an interval; a
    // synchronization that ended after the last rollup brings one.
    await a.settings.set(ROLLUP_SETTING_KEYS.intervalMinutes, 0);
    const last = await a.anchors.get(ROLLUP_DONE_ANCHOR);
    const logged: string[] = [];
    const schedule = new RollupSchedule({ store: a, version, logger: { info: (_o, m) => logged.push(m), warn: (_o, m) => logged.push(m) } });
    await schedule.look();
    assert.equal(await a.anchors.get(ROLLUP_DONE_ANCHOR), last);
    const run = await a.syncRuns.start();
    await a.syncRuns.update(run.id, { phase: 'done', result: 'succeeded', endedAt: new Date(Date.parse(last!) + 1000).toISOString() });
    await schedule.look();
    await schedule.stop();
    assert.notEqual(await a.anchors.get(ROLLUP_DONE_ANCHOR), last, logged.join('\n'));
    assert.match(logged.join('\n'), /^rollup to http:\/\/127\.0\.0\.1:[0-9]+: 2 servers/m);
  });
}
