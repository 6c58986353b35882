// `openwsus config` as an administrator uses it: values read per key, clear refusals, secrets
// kept sealed and never printed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../src/store/index.ts';
import { runCli, stdoutJson } from '../support/cli.ts';

test('config set, get and unset', { timeout: 120_000 }, async () => {
  const data = mkdtempSync(join(tmpdir(), 'openwsus-config-'));
  try {
    const cli = (...args: string[]) => runCli(['--data', data, 'config', ...args]);
    const defaults = stdoutJson<Record<string, unknown>>(await cli('get', '--json'));
    assert.equal(defaults['upstream.source'], 'microsoft-update');
    assert.equal(defaults['proxy.password'], null);
    assert.equal(defaults['upstream.lazySync'], true, 'the upstream role\'s settings are there too');

    // Several pairs in one command, written together.
    const set = await cli(
      'set',
      'upstream.source', 'server',
      'upstream.port', '8531',
      'upstream.ssl', 'yes',
      'classifications', 'E6CF1350-C01B-414D-A61F-263D14D133B4,0fa1201d-4330-4fa8-8ae9-b877473b6441',
      'languages', 'en,de',
      'proxy.password', 's3cret-pass',
      'upstream.maxDownstreamServers', '5',
    );
    assert.equal(set.code, 0, set.stderr);
    assert.ok(!set.stdout.includes('s3cret'), set.stdout);
    assert.match(set.stdout, /^upstream\.port = 8531$/m);
    const got = stdoutJson<Record<string, unknown>>(await cli('get', '--json'));
    assert.equal(got['upstream.port'], 8531);
    assert.equal(got['upstream.ssl'], true);
    assert.deepEqual(got.classifications, ['e6cf1350-c01b-414d-a61f-263d14d133b4', '0fa1201d-4330-4fa8-8ae9-b877473b6441']);
    assert.deepEqual(got.languages, ['en', 'de']);
    assert.equal(got['proxy.password'], '********');
    assert.equal(got['upstream.maxDownstreamServers'], 5);
    const one = await cli('get', 'proxy.password');
    assert.equal(one.stdout, '********\n');
    const table = await cli('get');
    assert.ok(!table.stdout.includes('s3cret') && !table.stdout.includes('sealed'), table.stdout);
    assert.match(table.stdout, /^upstream\.port\s+8531$/m);

    const store = await openStore({ dataDir: data });
    try {
      const stored = JSON.stringify(await store.settings.get('proxy.password'));
      assert.ok(!stored.includes('s3cret'), 'kept encrypted at rest');
    } finally {
      await store.close();
    }

    // One wrong pair: nothing is written.
    const bad = await cli('set', 'upstream.port', '9000', 'schedule.syncsPerDay', '30');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /schedule\.syncsPerDay.*1-24/);
    const odd = await cli('set', 'upstream.port', '9000', 'upstream.ssl');
    assert.equal(odd.code, 2);
    assert.match(odd.stderr, /KEY VALUE pairs; "upstream\.ssl" has no value/);
    assert.equal((await cli('get', 'upstream.port')).stdout, '8531\n', 'neither command changed anything');
    const unknown = await cli('set', 'upstream.srever', 'x');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown setting "upstream\.srever"/);
    const internal = await cli('set', 'internal.secretKey', 'x');
    assert.equal(internal.code, 2, 'the sealing key is not a setting');

    assert.equal((await cli('unset', 'upstream.port')).code, 0);
    assert.equal(stdoutJson<Record<string, unknown>>(await cli('get', '--json'))['upstream.port'], null);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});
