import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openStore } from '../../src/store/index.ts';
import { openSecret, sealSecret, SecretError, SECRET_KEY_SETTING } from '../../src/sync/secrets.ts';

test('a secret is sealed with a key kept in the store, and opens only with it', async () => {
  const store = await openStore({ database: 'sqlite::memory:' });
  const other = await openStore({ database: 'sqlite::memory:' });
  try {
    const sealed = await sealSecret(store.settings, 'p@ss wörd');
    assert.ok(!sealed.sealed.includes('p@ss'), 'no clear text');
    assert.notEqual((await sealSecret(store.settings, 'p@ss wörd')).sealed, sealed.sealed, 'a fresh nonce each time');
    assert.equal(typeof (await store.settings.get(SECRET_KEY_SETTING)), 'string');
    assert.equal(await openSecret(store.settings, sealed), 'p@ss wörd');
    await assert.rejects(openSecret(other.settings, sealed), SecretError);
    const [v, iv, tag, body] = sealed.sealed.split(':') as [string, string, string, string];
    const flipped = Buffer.from(body, 'base64');
    flipped[0]! ^= 1;
    await assert.rejects(openSecret(store.settings, { sealed: [v, iv, tag, flipped.toString('base64')].join(':') }), SecretError);
    await assert.rejects(openSecret(store.settings, { sealed: 'garbage' }), /not in a known format/);
  } finally {
    await store.close();
    await other.close();
  }
});
