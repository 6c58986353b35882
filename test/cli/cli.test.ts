// The `openwsus` command as an admin runs it: a real process, real files, real databases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, stdoutJson, BIN } from '../support/cli.ts';
import { fixturePath, readFixtureText } from '../support/fixtures.ts';
import { availableBackends, createPostgresDatabase } from '../support/db.ts';

const work = mkdtempSync(join(tmpdir(), 'openwsus-cli-'));

test('every command answers --help, and a wrong command line exits 2 with a hint', async () => {
  const top = await runCli(['--help']);
  assert.equal(top.code, 0);
  for (const name of ['serve', 'import', 'export', 'catalog', 'inspect', 'content']) assert.match(top.stdout, new RegExp(`\\b${name}\\b`));
  for (const args of [['serve'], ['import'], ['export'], ['catalog', 'generate'], ['catalog', 'stats'], ['inspect', 'blob'], ['inspect', 'fragments'], ['inspect', 'update'], ['content', 'copy']]) {
    const help = await runCli([...args, '--help']);
    assert.equal(help.code, 0, args.join(' '));
    assert.match(help.stdout, /Usage: openwsus/);
  }
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const missing = await runCli(['catalog', 'generate', '--out', join(work, 'x.owx')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--updates/);
  const tooFew = await runCli(['catalog', 'generate', '--updates', '5', '--out', join(work, 'x.owx')]);
  assert.equal(tooFew.code, 2);
  assert.match(tooFew.stderr, /--updates must be a whole number >= 67/);
});

test('bad configuration is refused with what to fix', async () => {
  const r = await runCli(['catalog', 'stats'], { env: { OPENWSUS_PORT: 'eighty', OPENWSUS_DATA: join(work, 'cfg') } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^openwsus: .*port must be a whole number/m);
});

for (const backend of availableBackends()) {
  test(`generate, import, stats, export and import elsewhere [${backend}]`, { timeout: 240_000 }, async (t) => {
    const dir = mkdtempSync(join(work, `${backend}-`));
    const databases: string[][] = [];
    for (let i = 0; i < 2; i++) {
      if (backend === 'postgres') {
        const db = await createPostgresDatabase();
        t.after(() => db.drop());
        databases.push(['--data', join(dir, `d${i}`), '--database', db.url]);
      } else {
        databases.push(['--data', join(dir, `d${i}`)]);
      }
    }
    const [first, second] = databases as [string[], string[]];
    const file = join(dir, 'catalog.owx');
    const generated = await runCli(['catalog', 'generate', '--updates', '300', '--seed', '42', '--out', file, '--content', join(dir, 'd0', 'content')]);
    assert.equal(generated.code, 0, generated.stderr);
    assert.match(generated.stdout, /wrote 300 revisions/);

    const imported = await runCli([...first, 'import', file, '--json']);
    assert.equal(imported.code, 0, imported.stderr);
    const summary = stdoutJson<{ revisions: number; inserted: number; contentFilesFound: number }>(imported);
    assert.equal(summary.revisions, 300);
    assert.equal(summary.inserted, 300);
    assert.ok(summary.contentFilesFound > 0, 'the generated payloads are found in the content directory');

    const stats = stdoutJson<{ revisions: number; files: Record<string, number>; revisionsByType: Record<string, number>; categories: { byType: Record<string, number> }; languages: { shortName: string; enabled: boolean }[] }>(
      await runCli([...first, 'catalog', 'stats', '--json']),
    );
    assert.equal(stats.revisions, 300);
    assert.equal(stats.files.absent, 0);
    assert.equal(stats.files.present, summary.contentFilesFound);
    assert.ok(stats.revisionsByType.Software! > 0 && stats.revisionsByType.Category! > 0 && stats.revisionsByType.Detectoid! > 0);
    assert.equal(stats.categories.byType.UpdateClassification, 14);
    assert.ok(stats.languages.some((l) => l.shortName === 'ja' && l.enabled));

    const again = stdoutJson<{ inserted: number; unchanged: number }>(await runCli([...first, 'import', file, '--json']));
    assert.deepEqual([again.inserted, again.unchanged], [0, 300]);

    const exported = join(dir, 'export.owx');
    const exportRun = await runCli([...first, 'export', exported, '--approvals', '--json']);
    assert.equal(exportRun.code, 0, exportRun.stderr);
    assert.equal(stdoutJson<{ counts: Record<string, number> }>(exportRun).counts.revision, 300);

    // The second server gets the metadata, then the content, and learns it has it.
    assert.equal((await runCli([...second, 'import', exported])).code, 0);
    const before = stdoutJson<{ files: Record<string, number> }>(await runCli([...second, 'catalog', 'stats', '--json']));
    assert.equal(before.files.present, 0);
    const copied = await runCli([...second, 'content', 'copy', join(dir, 'd0'), join(dir, 'd1'), '--json']);
    assert.equal(copied.code, 0, copied.stderr);
    assert.equal(stdoutJson<{ copied: number; filesRecordedPresent: number }>(copied).filesRecordedPresent, summary.contentFilesFound);
    const after = stdoutJson<typeof stats>(await runCli([...second, 'catalog', 'stats', '--json']));
    assert.deepEqual({ ...after, languages: undefined }, { ...stats, languages: undefined });

    // A truncated file changes nothing.
    const truncated = join(dir, 'truncated.owx');
    writeFileSync(truncated, readFileSync(exported).subarray(0, 3000));
    const refused = await runCli([...second, 'import', truncated]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^openwsus: the export file is truncated/m);
    assert.deepEqual(stdoutJson(await runCli([...second, 'catalog', 'stats', '--json'])), after);
  });
}

test('inspect blob decodes the real compressed blob of a real GetUpdateData answer', async () => {
  const body = readFixtureText('wsus-m0-wsusss', 'exchanges', '000014', 'response.body');
  const base64 = /<XmlUpdateBlobCompressed>([^<]+)<\/XmlUpdateBlobCompressed>/.exec(body)![1]!;
  const b64File = join(work, 'blob.b64');
  writeFileSync(b64File, base64);
  const cabFile = join(work, 'blob.cab');
  writeFileSync(cabFile, Buffer.from(base64, 'base64'));
  const expected = readFixtureText('wsus-m0-wsusss', 'docs', '266f6222-c89d-43f2-9f8a-69340271e677-r200.xml');
  for (const file of [b64File, cabFile]) {
    const r = await runCli(['inspect', 'blob', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, expected + '\n');
  }
  const junk = join(work, 'junk.txt');
  writeFileSync(junk, 'this is not a blob!');
  const bad = await runCli(['inspect', 'blob', junk]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /not a compressed update blob/);
  const truncated = join(work, 'truncated.cab');
  writeFileSync(truncated, Buffer.from(base64, 'base64').subarray(0, 900));
  const cut = await runCli(['inspect', 'blob', truncated]);
  assert.equal(cut.code, 1);
  assert.match(cut.stderr, /^openwsus: .*truncated/m);
});

test('inspect fragments prints what a real WSUS sent a real client', async () => {
  const id = '7366a74a-ef29-44e1-b738-570b516aca1f-r200';
  const r = await runCli(['inspect', 'fragments', fixturePath('wsus-m0-wsusss', 'docs', `${id}.xml`), '--lang', 'en']);
  assert.equal(r.code, 0, r.stderr);
  const fragments = stdoutJson<{ core: string; extended: string; localized: string }>(r);
  assert.equal(fragments.core, readFixtureText('wsus-m0-wsusss', 'wusp-reference', `${id}.core.xml`));
  assert.equal(fragments.extended, readFixtureText('wsus-m0-wsusss', 'wusp-reference', `${id}.extended.xml`));
  assert.equal(fragments.localized, readFixtureText('wsus-m0-wsusss', 'wusp-reference', `${id}.localized-en.xml`));
  const missing = await runCli(['inspect', 'fragments', fixturePath('wsus-m0-wsusss', 'docs', `${id}.xml`), '--lang', 'xx']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no "xx" localized properties \(it has: en\)/);
});

test('inspect update prints the parsed record; a document with a DTD is refused', async () => {
  const r = await runCli(['inspect', 'update', fixturePath('wsus-m0-wsusss', 'docs', '7366a74a-ef29-44e1-b738-570b516aca1f-r200.xml')]);
  assert.equal(r.code, 0, r.stderr);
  const record = stdoutJson<{ key: { updateId: string; revisionNumber: number }; properties: { updateType: string }; files: { fileName: string }[]; xml?: string }>(r);
  assert.deepEqual(record.key, { updateId: '7366a74a-ef29-44e1-b738-570b516aca1f', revisionNumber: 200 });
  assert.equal(record.properties.updateType, 'Software');
  assert.equal(record.files[0]!.fileName, 'AM_Delta.exe');
  assert.equal(record.xml, undefined);
  const evil = join(work, 'evil.xml');
  writeFileSync(evil, '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update">&b;</upd:Update>');
  const refused = await runCli(['inspect', 'update', evil]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /DOCTYPE|DTD/i);
  const notXml = join(work, 'not.xml');
  writeFileSync(notXml, '<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update"><upd:UpdateIdentity');
  const malformed = await runCli(['inspect', 'update', notXml]);
  assert.equal(malformed.code, 1);
  assert.match(malformed.stderr, /^openwsus: /m);
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

test('serve answers /health with structured logs and stops cleanly on SIGTERM', { timeout: 60_000 }, async () => {
  const port = await freePort();
  const data = join(work, 'serve');
  const child = spawn(BIN, ['--data', data, 'serve', '--host', '127.0.0.1', '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    let health: Response | undefined;
    for (let i = 0; i < 100 && !health; i++) {
      health = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
      if (!health) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(health, `server did not start: ${out}`);
    assert.equal(health.status, 200);
    const report = (await health.json()) as { status: string; database: string; serverId: string };
    assert.equal(report.status, 'ok');
    assert.equal(report.database, 'sqlite');
    assert.match(report.serverId, /^[0-9a-f-]{36}$/);
    const missing = await fetch(`http://127.0.0.1:${port}/nothing-here`);
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.ok(existsSync(join(data, 'openwsus.db')));
    // A protocol operation called without what it needs answers with the protocol's fault, not a bare 404.
    const pending = await fetch(`http://127.0.0.1:${port}/ClientWebService/client.asmx`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/SyncPrinterCatalog"' },
      body: '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><SyncPrinterCatalog xmlns="http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService" /></s:Body></s:Envelope>',
    });
    assert.equal(pending.status, 500);
    const fault = await pending.text();
    assert.match(fault, /<ErrorCode>InvalidCookie<\/ErrorCode>/);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0);
  const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: number });
  assert.ok(lines.some((l) => l.msg === 'openwsus is serving'));
  assert.ok(lines.some((l) => l.msg === 'shutting down'));
});
