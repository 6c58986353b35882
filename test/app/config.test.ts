import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadBootConfig, ConfigError } from '../../src/app/config.ts';

test('defaults apply when nothing is given', () => {
  const c = loadBootConfig({ env: {} });
  assert.equal(c.port, 8530);
  assert.equal(c.httpsPort, 8531);
  assert.equal(c.data, resolve('./data'));
});

test('flags beat environment, environment beats the config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'owcfg-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ port: 1111, host: '127.0.0.2', logLevel: 'debug' }));
  const c = loadBootConfig({ configFile: file, env: { OPENWSUS_PORT: '2222', OPENWSUS_HOST: '127.0.0.3' }, flags: { port: 3333 } });
  assert.equal(c.port, 3333);
  assert.equal(c.host, '127.0.0.3');
  assert.equal(c.logLevel, 'debug');
});

test('the data directory config file is read when present', () => {
  const dir = mkdtempSync(join(tmpdir(), 'owcfg-'));
  writeFileSync(join(dir, 'openwsus.json'), JSON.stringify({ database: 'postgres://x@localhost/y' }));
  assert.equal(loadBootConfig({ env: { OPENWSUS_DATA: dir } }).database, 'postgres://x@localhost/y');
});

test('bad values are refused with a message that names the setting', () => {
  assert.throws(() => loadBootConfig({ env: { OPENWSUS_PORT: 'eighty' } }), /port must be a whole number/);
  assert.throws(() => loadBootConfig({ env: { OPENWSUS_PORT: '70000' } }), (e: Error) => e instanceof ConfigError && /port/.test(e.message));
  const dir = mkdtempSync(join(tmpdir(), 'owcfg-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ prot: 1 }));
  assert.throws(() => loadBootConfig({ configFile: file, env: {} }), /unknown setting "prot"/);
  writeFileSync(file, '{ not json');
  assert.throws(() => loadBootConfig({ configFile: file, env: {} }), /not a JSON object/);
  assert.throws(() => loadBootConfig({ configFile: join(dir, 'missing.json'), env: {} }), /cannot read config file/);
});
