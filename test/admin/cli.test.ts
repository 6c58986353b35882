// The CLI against a server's API (`--server URL --token TOKEN`), and `openwsus accounts|tokens`
// on the database: real `bin/openwsus` processes, one in-process server.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS } from '../../src/app/config.ts';
import { createLogger } from '../../src/app/log.ts';
import { startServer } from '../../src/app/server.ts';
import { IDS, seedAdminCatalog, seedFleet } from '../cli/admin-catalog.ts';
import { BIN, runCli, stdoutJson, type CliResult } from '../support/cli.ts';

const work = mkdtempSync(join(tmpdir(), 'openwsus-admin-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

function withInput(args: readonly string[], input: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env: { ...process.env, OPENWSUS_LOG_LEVEL: 'warn' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

test('accounts and tokens on the database, then the admin commands over the API with the token', async () => {
  const data = join(work, 'server');
  // Bootstrapping on the database, before any server ran.
  const created = await withInput(['--data', data, 'accounts', 'create', 'ops', '--role', 'Administrators', '--password-stdin'], 'an ops password\n');
  assert.equal(created.code, 0, created.stderr);
  const token = await runCli(['--data', data, 'tokens', 'create', 'cli test', '--account', 'ops', '--json']);
  assert.equal(token.code, 0, token.stderr);
  const { token: secret, id } = stdoutJson<{ token: string; id: number }>(token);

  // The server finds an account already there: it makes no administrator of its own.
  const server = await startServer({ ...DEFAULTS, data, host: '127.0.0.1', port: 0, httpsPort: 0, logLevel: 'silent' }, createLogger('silent'));
  try {
    assert.deepEqual((await server.store.accounts.list()).map((a) => a.name), ['ops']);
    await seedAdminCatalog(server.store);
    await seedFleet(server.store);
    const url = server.listeners[0]!.url;
    const remote = (...args: string[]) => runCli([...args, '--server', url], { env: { OPENWSUS_TOKEN: secret } });

    const listed = await remote('updates', 'list', '--json', '--text', 'KB5070001');
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(stdoutJson<{ updates: { updateId: string }[] }>(listed).updates.map((u) => u.updateId), [IDS.cumulative]);

    const approved = await remote('updates', 'approve', 'KB5070001', '--group', 'all computers', '--action', 'install', '--deadline', '2026-12-01');
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, /^approved .* for Install in "All Computers" with deadline 2026-12-01T00:00:00.000Z/);
    assert.deepEqual((await server.store.approvals.ofUpdate(IDS.cumulative)).map((a) => [a.action, a.deadline, a.adminName]), [['Install', '2026-12-01T00:00:00.000Z', 'ops']]);

    const set = await remote('config', 'set', 'upstream.source', 'server', 'upstream.server', 'wsus1.corp.example');
    assert.equal(set.code, 0, set.stderr);
    assert.equal(await server.store.settings.get('upstream.server'), 'wsus1.corp.example');

    // Status, declines taken back, downstream servers and deleting a computer, over the API as on the database.
    const status = await remote('updates', 'status', 'KB5070001', '--json');
    assert.equal(status.code, 0, status.stderr);
    const shown = stdoutJson<{ counts: Record<string, number>; computers: { name: string; status: string }[] }>(status);
    assert.deepEqual(shown.counts, { Installed: 1, Needed: 0, Failed: 1, NotApplicable: 0, Unknown: 1 });
    assert.deepEqual(shown.computers.map((c) => [c.name, c.status]), [['pc1.corp.example', 'Installed'], ['pc2.corp.example', 'Failed'], ['pc3.corp.example', 'Unknown']]);
    await server.store.declines.upsert([{ updateId: IDS.twinB, adminName: 'ops', declinedAt: new Date().toISOString() }]);
    const reinstated = await remote('updates', 'reinstate', IDS.twinB);
    assert.equal(reinstated.code, 0, reinstated.stderr);
    assert.deepEqual(await server.store.declines.list(), []);
    await server.store.downstreams.register({ id: '9a1c6c8e-3f7b-4c0a-8d5e-2b6f0e4d1a11', accountName: 'dss1.corp.example' });
    const downstream = await remote('downstream', 'list', '--json');
    assert.equal(downstream.code, 0, downstream.stderr);
    assert.deepEqual(stdoutJson<{ name: string; parent: string }[]>(downstream).map((d) => [d.name, d.parent]), [['dss1.corp.example', 'this server']]);
    const deleted = await remote('computers', 'delete', 'pc3');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /^deleted computer pc3\.corp\.example/);
    assert.equal(await server.store.computers.get(IDS.pc3), undefined);

    // Refusals print the server's problem and exit 1 (2 for bad input).
    const bad = await remote('config', 'set', 'upstream.port', '8530', 'schedule.mode', 'sometimes');
    assert.equal(bad.code, 2, bad.stdout);
    assert.match(bad.stderr, /schedule\.mode/);
    const revoked = await runCli(['--data', data, 'tokens', 'revoke', String(id)]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const refused = await remote('groups', 'list', '--json');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /revoked or expired.*tokens create/);
    const audit = (await server.store.audit.list()).map((e) => `${e.actor}/${e.via}/${e.action}`);
    for (const entry of ['ops/token/updates.approve', 'ops/token/settings.set', 'ops/token/updates.reinstate', 'ops/token/computers.delete']) assert.ok(audit.includes(entry), `${entry} in ${audit.join(', ')}`);
    assert.ok(audit.some((e) => /\/cli\/tokens\.revoke$/.test(e)));
  } finally {
    await server.close();
  }
});
