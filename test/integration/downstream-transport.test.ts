// How a downstream reaches its upstream (src/sync/transport.ts), across real processes: a root
// `bin/openwsus serve` on HTTP and on HTTPS with a certificate from a throwaway CA, a real
// tinyproxy (Debian's tinyproxy-bin, installed by .ci/run) requiring a Basic user and password,
// and a downstream configured with `openwsus config set` and synchronized with `openwsus sync`:
//
// 1. HTTPS without upstream.caFile fails with a certificate error recorded in the run; with it,
//    the sync succeeds;
// 2. through the proxy: a wrong password fails with the proxy's 407, and so does basic
//    authentication left off; with both right the sync succeeds over HTTP (forwarded requests)
//    and then over HTTPS (a CONNECT tunnel, the private CA trusted inside it), the proxy's log
//    showing each; an approved update's files come through it too (`content download`);
// 3. the password appears nowhere: `config get`, sync output, `sync status`, the server's log.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeGeneratedCatalog } from '../../src/catalog/export.ts';
import { filePayload, generateCatalog, type CatalogFile } from '../../src/catalog/index.ts';
import type { SyncRun } from '../../src/domain/sync-run.ts';
import { contentPath } from '../../src/domain/update.ts';
import { ALL_COMPUTERS_GROUP_ID, CLASSIFICATIONS, WINDOWS_PRODUCT_FAMILY_ID } from '../../src/domain/wellknown.ts';
import { openStore } from '../../src/store/index.ts';
import { runCli, stdoutJson, type CliResult } from '../support/cli.ts';
import { availableBackends } from '../support/db.ts';
import { createBackendDatabase, freePort, startServeProcess } from '../support/server-process.ts';
import { createTestPki } from '../support/tls.ts';

const PASSWORD = 'pr0xy-S3cret-7c1e';
const WRONG = 'wr0ng-pa55-93ab';
const USER = 'wsus-sync';

const work = mkdtempSync(join(tmpdir(), 'openwsus-it-transport-'));
after(() => rmSync(work, { recursive: true, force: true }));

function tinyproxyPath(): string | undefined {
  for (const candidate of ['/usr/bin/tinyproxy', '/usr/sbin/tinyproxy']) {
    if (spawnSync(candidate, ['-v'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  return undefined;
}
const TINYPROXY = tinyproxyPath();
const MISSING = 'tinyproxy is not installed (apt-get install tinyproxy-bin; .ci/run installs it)';
if (TINYPROXY === undefined && process.env.CI === 'true') throw new Error(`${MISSING}: the proxy tests cannot run in CI without it`);

interface Tinyproxy {
  readonly port: number;
  log(): string;
  stop(): Promise<void>;
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** tinyproxy in the foreground on a free loopback port, Basic authentication required. */
async function startTinyproxy(binary: string, dir: string): Promise<Tinyproxy> {
  const port = await freePort();
  const logFile = join(dir, 'tinyproxy.log');
  writeFileSync(
    join(dir, 'tinyproxy.conf'),
    [`Port ${port}`, 'Listen 127.0.0.1', 'Timeout 60', `LogFile "${logFile}"`, 'LogLevel Info', 'MaxClients 50', `BasicAuth ${USER} ${PASSWORD}`, 'DisableViaHeader Yes', ''].join('\n'),
  );
  writeFileSync(logFile, '');
  const child: ChildProcess = spawn(binary, ['-d', '-c', join(dir, 'tinyproxy.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const ended = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; !(await listening(port)); i++) {
    if (child.exitCode !== null || i > 100) {
      child.kill('SIGKILL');
      throw new Error(`tinyproxy did not start on port ${port}:\n${output}\n${readFileSync(logFile, 'utf8')}`);
    }
    await sleep(50);
  }
  return {
    port,
    log: () => readFileSync(logFile, 'utf8'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await ended;
    },
  };
}

const CATALOG = { updates: 80, seed: 'transport' };
const catalogFile = join(work, 'catalog.owx');
await writeGeneratedCatalog(CATALOG, catalogFile);

/**
 * Approves, in the downstream's database, one update it holds whose own files are small, and
 * returns them (their payloads are the generator's, so the root can be given the right bytes).
 */
async function approveOneWithFiles(database: string): Promise<CatalogFile[]> {
  const store = await openStore({ database });
  try {
    const held = new Set<string>();
    for await (const r of store.catalog.iterate({ latestOnly: true })) held.add(`${r.key.updateId}/${r.key.revisionNumber}`);
    const doc = [...generateCatalog(CATALOG).documents()].find(
      (d) => held.has(`${d.key.updateId}/${d.key.revisionNumber}`) && d.role !== 'bundle' && d.spec.properties.publicationState !== 'Expired' && d.files.length > 0 && d.files.every((f) => f.size < 1 << 20 && !/\.psf$/i.test(f.fileName)),
    );
    assert.ok(doc, 'the downstream holds an update with files');
    await store.approvals.upsert([{ id: randomUUID(), updateId: doc.key.updateId, revisionNumber: doc.key.revisionNumber, groupId: ALL_COMPUTERS_GROUP_ID, action: 'Install', adminName: 'test', createdAt: new Date().toISOString() }]);
    return [...doc.files];
  } finally {
    await store.close();
  }
}
const pki = await createTestPki();
after(() => pki.cleanup());
const caFile = join(pki.dir, 'ca.pem');

function ok(result: CliResult, what: string): CliResult {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

interface SyncSummary {
  readonly result: string;
  readonly counts: SyncRun['counts'];
  readonly updates: { listed: number; fetched: number };
  readonly categories: { listed: number; fetched: number };
}

for (const dialect of availableBackends()) {
  test(`a downstream syncs over HTTPS with a private CA and through an authenticating proxy [${dialect}]`, { timeout: 600_000 }, async (t) => {
    const rootDir = mkdtempSync(join(work, 'root-'));
    const dssDir = mkdtempSync(join(work, 'dss-'));
    const proxyDir = mkdtempSync(join(work, 'proxy-'));
    const rootDb = await createBackendDatabase('sqlite', rootDir);
    const dssDb = await createBackendDatabase(dialect, dssDir);
    t.after(() => dssDb.drop());
    const root = ['--data', rootDir, '--database', rootDb.url];
    const dss = ['--data', dssDir, '--database', dssDb.url];
    ok(await runCli([...root, 'import', catalogFile]), 'root import');
    const httpsPort = await freePort();
    // info: a log line per request, so the test can see the password is in none of them.
    const server = await startServeProcess({
      dataDir: rootDir,
      database: rootDb.url,
      logLevel: 'info',
      env: { OPENWSUS_HTTPS_PORT: String(httpsPort), OPENWSUS_TLS_CERT: pki.certPath, OPENWSUS_TLS_KEY: pki.keyPath },
    });
    t.after(async () => {
      await server.stop();
    });

    const outputs: string[] = [];
    const cli = async (args: readonly string[]): Promise<CliResult> => {
      const result = await runCli([...dss, ...args]);
      outputs.push(result.stdout, result.stderr);
      return result;
    };
    // Several KEY VALUE pairs in one command: a process start each is most of this test's time.
    const set = async (...pairs: string[]): Promise<void> => {
      ok(await cli(['config', 'set', ...pairs]), `config set ${pairs.filter((_, i) => i % 2 === 0).join(' ')}`);
    };
    const sync = async (): Promise<SyncSummary> => stdoutJson<SyncSummary>(ok(await cli(['sync', '--json']), 'sync'));
    const failedSync = async (): Promise<{ stderr: string; run: SyncRun }> => {
      const result = await cli(['sync']);
      assert.equal(result.code, 1, `the sync should fail\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
      const runs = stdoutJson<SyncRun[]>(ok(await cli(['sync', 'status', '--json', '--limit', '1']), 'sync status'));
      assert.equal(runs[0]?.result, 'failed');
      assert.ok(result.stderr.includes(runs[0]!.error!), `the run records what the command said:\n${result.stderr}\n${runs[0]!.error}`);
      t.diagnostic(`recorded: ${runs[0]!.error}`);
      return { stderr: result.stderr, run: runs[0]! };
    };

    const selection = ['products', WINDOWS_PRODUCT_FAMILY_ID, 'classifications', [CLASSIFICATIONS.securityUpdates, CLASSIFICATIONS.criticalUpdates, CLASSIFICATIONS.updates].join(',')];

    // 1. HTTPS, direct.
    await set('upstream.source', 'server', 'upstream.server', '127.0.0.1', ...selection, 'upstream.ssl', 'true', 'upstream.port', String(httpsPort));
    const untrusted = await failedSync();
    assert.match(untrusted.run.error!, /^cannot reach the upstream server at https:\/\/127\.0\.0\.1:\d+: the certificate of https:\/\/127\.0\.0\.1:\d+ is not trusted \([A-Z_]+\): if a private CA issued it, set upstream\.caFile/);
    await set('upstream.caFile', caFile);
    const direct = await sync();
    assert.equal(direct.result, 'succeeded');
    assert.ok(direct.categories.fetched > 0 && direct.updates.fetched > 0, JSON.stringify(direct));

    // 2. Through the proxy, first over HTTP so every metadata request is forwarded by it. A
    //    second downstream database would do as well; a fresh start is simpler to read.
    if (TINYPROXY === undefined) {
      t.diagnostic(`proxy part skipped: ${MISSING}`);
      return;
    }
    const proxy = await startTinyproxy(TINYPROXY, proxyDir);
    t.after(() => proxy.stop());
    const fresh = mkdtempSync(join(work, 'dss-proxy-'));
    const viaDb = await createBackendDatabase(dialect, fresh);
    t.after(() => viaDb.drop());
    dss.splice(0, dss.length, '--data', fresh, '--database', viaDb.url);
    await set('upstream.source', 'server', 'upstream.server', '127.0.0.1', 'upstream.port', String(server.port), ...selection);
    await set('proxy.enabled', 'true', 'proxy.host', '127.0.0.1', 'proxy.port', String(proxy.port), 'proxy.user', USER, 'proxy.password', WRONG, 'proxy.allowBasicAuth', 'true');
    const proxyUri = `http://127.0.0.1:${proxy.port}`;

    // tinyproxy answers a wrong password with 401 and WWW-Authenticate, most proxies with 407.
    const refusedCredentials = new RegExp(
      `^cannot reach the upstream server at https?://127\\.0\\.0\\.1:\\d+: the proxy ${proxyUri.replaceAll('.', '\\.')} refused the request: ` +
        `(407 Proxy Authentication Required|401 Unauthorized \\(its answer to credentials it refuses\\)) \\(it asks for basic\\); it did not accept the credentials of ${USER}`,
    );
    const wrong = await failedSync();
    assert.match(wrong.run.error!, refusedCredentials);

    await set('proxy.password', PASSWORD, 'proxy.allowBasicAuth', 'false');
    const basicOff = await failedSync();
    assert.match(basicOff.run.error!, /407 Proxy Authentication Required \(it asks for basic\); the proxy asks for basic authentication, which is off \(proxy\.allowBasicAuth\)/);

    await set('proxy.allowBasicAuth', 'true');
    const requestsBefore = (proxy.log().match(/Request \(file descriptor \d+\): POST /g) ?? []).length;
    const viaHttp = await sync();
    assert.equal(viaHttp.result, 'succeeded');
    assert.deepEqual({ ...viaHttp.counts }, { ...direct.counts }, 'the same catalog came through the proxy');
    const forwarded = proxy.log().match(new RegExp(`Request \\(file descriptor \\d+\\): POST http://127\\.0\\.0\\.1:${server.port}/ServerSyncWebService/`, 'g')) ?? [];
    assert.ok(forwarded.length > requestsBefore + 3, `the proxy forwarded the sync's requests:\n${proxy.log().slice(-3000)}`);

    // Content goes the same way: an approved update's files, from the root's /Content/, by
    // `content download` through the proxy (deferred downloads: only what is approved).
    const wanted = await approveOneWithFiles(viaDb.url);
    for (const f of wanted) {
      mkdirSync(dirname(join(rootDir, 'content', contentPath(f))), { recursive: true });
      writeFileSync(join(rootDir, 'content', contentPath(f)), filePayload(f));
    }
    const downloaded = stdoutJson<{ queue: Record<string, number> }>(ok(await cli(['content', 'download', '--json']), 'content download'));
    assert.deepEqual({ present: downloaded.queue.present, failed: downloaded.queue.failed }, { present: wanted.length, failed: 0 }, JSON.stringify(downloaded));
    for (const f of wanted) {
      assert.ok(existsSync(join(fresh, 'content', contentPath(f))), `${contentPath(f)} published (its digests verified)`);
      assert.match(proxy.log(), new RegExp(`Request \\(file descriptor \\d+\\): GET http://127\\.0\\.0\\.1:${server.port}/Content/${contentPath(f).replaceAll('.', '\\.')} `), 'fetched through the proxy');
    }

    // HTTPS through the proxy: a CONNECT tunnel, and the private CA trusted inside it.
    await set('upstream.ssl', 'true', 'upstream.port', String(httpsPort), 'upstream.caFile', caFile);
    // At debug level, so whatever the sync logs is checked for the password below.
    const viaHttps = stdoutJson<SyncSummary>(ok(await cli(['--log-level', 'debug', 'sync', '--json']), 'sync at debug level'));
    assert.equal(viaHttps.result, 'succeeded');
    assert.match(proxy.log(), new RegExp(`Request \\(file descriptor \\d+\\): CONNECT 127\\.0\\.0\\.1:${httpsPort} `));
    // A wrong password refused on the CONNECT too.
    await set('proxy.password', WRONG);
    assert.match((await failedSync()).run.error!, refusedCredentials);
    await set('proxy.password', PASSWORD);

    // 3. The password, right or wrong, is nowhere to be read.
    const all = stdoutJson<Record<string, unknown>>(ok(await cli(['config', 'get', '--json']), 'config get'));
    assert.equal(all['proxy.password'], '********');
    const one = ok(await cli(['config', 'get', 'proxy.password']), 'config get proxy.password');
    assert.match(one.stdout, /\*{8}/);
    ok(await cli(['sync', 'status', '--json']), 'sync status');
    await server.stop();
    for (const text of [...outputs, server.output()]) {
      assert.ok(!text.includes(PASSWORD) && !text.includes(WRONG), `a password was shown:\n${text.slice(0, 2000)}`);
      for (const secret of [PASSWORD, WRONG]) assert.ok(!text.includes(Buffer.from(`${USER}:${secret}`).toString('base64')), 'nor its Basic encoding');
    }
    assert.ok(server.output().includes('ServerSyncWebService'), 'the server logged the requests');
  });
}
