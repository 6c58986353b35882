import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  checkProtocolVersion,
  judgeCookie,
  openCookie,
  readCookieHeader,
  sealCookie,
  type CookieClaims,
  type SealingKey,
} from '../../src/domain/cookie.ts';

const SERVER = '11111111-2222-3333-4444-555555555555';
const OTHER_SERVER = '99999999-8888-7777-6666-555555555555';
const DSS = '6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12';
const NOW = new Date('2026-10-04T16:33:26.654Z');

const key: SealingKey = { id: 1, secret: randomBytes(32) };
const rotated: SealingKey = { id: 2, secret: randomBytes(32) };
const iv = () => randomBytes(12);

function claims(extra: Partial<CookieClaims> = {}): CookieClaims {
  return {
    kind: 'server',
    downstreamId: DSS,
    targetGroups: ['a0a08746-4dbe-4a37-9adf-9e7652c0b421'],
    expiresAt: new Date(NOW.getTime() + 240 * 60_000),
    protocolVersion: '1.20',
    serverId: SERVER,
    ...extra,
  };
}

const keys = (...held: SealingKey[]) => (id: number) => held.find((k) => k.id === id);
const judge = (bytes: Uint8Array, held = keys(key, rotated), kind: CookieClaims['kind'] = 'server', now = NOW) =>
  judgeCookie(bytes, { kind, serverId: SERVER, now }, held);

describe('cookie sealing', () => {
  it('round-trips every claim the spec requires (MS-WSUSSS 2.2.4.8)', () => {
    const sealed = sealCookie(claims(), key, iv());
    assert.deepEqual(openCookie(sealed, key), claims());
    assert.deepEqual(readCookieHeader(sealed), { kind: 'server', keyId: 1, serverId: SERVER });
    assert.deepEqual(judge(sealed), { ok: true, claims: claims() });
  });

  it('never repeats a ciphertext: a fresh IV each time', () => {
    assert.notDeepEqual(sealCookie(claims(), key, iv()), sealCookie(claims(), key, iv()));
  });

  it('refuses a forged or damaged cookie', () => {
    const sealed = sealCookie(claims(), key, iv());
    for (let i = 0; i < sealed.length; i += 7) {
      const damaged = Buffer.from(sealed);
      damaged[i]! ^= 0x01;
      const verdict = judge(damaged);
      assert.equal(verdict.ok, false, `byte ${i}`);
    }
    // Claims sealed under a key this server never had.
    assert.deepEqual(judge(sealCookie(claims(), { id: 1, secret: randomBytes(32) }, iv())), { ok: false, problem: 'invalid' });
    // Random bytes, truncated bytes, nothing.
    assert.deepEqual(judge(randomBytes(120)), { ok: false, problem: 'invalid' });
    assert.deepEqual(judge(sealed.subarray(0, 40)), { ok: false, problem: 'invalid' });
    assert.deepEqual(judge(new Uint8Array(0)), { ok: false, problem: 'invalid' });
    // A Windows WSUS's cookie (zeroed in the captures).
    assert.deepEqual(judge(Buffer.alloc(432)), { ok: false, problem: 'invalid' });
  });

  it('refuses an expired cookie, by the sealed expiry', () => {
    const sealed = sealCookie(claims({ expiresAt: new Date(NOW.getTime() - 1) }), key, iv());
    assert.deepEqual(judge(sealed), { ok: false, problem: 'expired' });
    assert.deepEqual(judge(sealCookie(claims({ expiresAt: NOW }), key, iv())), { ok: false, problem: 'expired' });
    assert.equal(judge(sealCookie(claims(), key, iv()), keys(key), 'server', new Date(NOW.getTime() + 241 * 60_000)).ok, false);
  });

  it('tells another server’s cookie from a forged one', () => {
    const other = sealCookie(claims({ serverId: OTHER_SERVER }), { id: 1, secret: randomBytes(32) }, iv());
    assert.deepEqual(judge(other), { ok: false, problem: 'other-server' });
  });

  it('keeps opening cookies of a rotated key while it is held, and stops once it is retired', () => {
    const old = sealCookie(claims(), key, iv());
    const fresh = sealCookie(claims(), rotated, iv());
    assert.equal(judge(old).ok, true);
    assert.equal(judge(fresh).ok, true);
    assert.deepEqual(judge(old, keys(rotated)), { ok: false, problem: 'invalid' });
    // Sealed with key 1's secret but claiming key 2: the tag does not match.
    const relabelled = Buffer.from(old);
    relabelled.writeUInt32BE(2, 2);
    assert.deepEqual(judge(relabelled), { ok: false, problem: 'invalid' });
  });

  it('keeps an authorization cookie from standing in for a server cookie, and back', () => {
    const authorization = sealCookie(claims({ kind: 'authorization', protocolVersion: '' }), key, iv());
    assert.deepEqual(judge(authorization), { ok: false, problem: 'invalid' });
    assert.equal(judge(authorization, keys(key), 'authorization').ok, true);
    assert.deepEqual(judge(sealCookie(claims(), key, iv()), keys(key), 'authorization'), { ok: false, problem: 'invalid' });
  });

  it('checks the protocol version it carries', () => {
    assert.deepEqual(judge(sealCookie(claims({ protocolVersion: '1.x' }), key, iv())), { ok: false, problem: 'malformed-version' });
    assert.deepEqual(judge(sealCookie(claims({ protocolVersion: '2.0' }), key, iv())), { ok: false, problem: 'incompatible-version' });
    for (const v of ['1.20', '1.7', '1.1', '1.3', ' 1.8 ']) assert.equal(checkProtocolVersion(v), 'ok', v);
    for (const v of ['', '1', '1.', '.2', '1.2.3', 'a.b', '1,2']) assert.equal(checkProtocolVersion(v), 'malformed', v);
    for (const v of ['0.9', '2.0', '3.2']) assert.equal(checkProtocolVersion(v), 'incompatible', v);
  });

  it('refuses keys and IVs of the wrong size', () => {
    assert.throws(() => sealCookie(claims(), { id: 1, secret: randomBytes(16) }, iv()), RangeError);
    assert.throws(() => sealCookie(claims(), key, randomBytes(16)), RangeError);
  });
});
