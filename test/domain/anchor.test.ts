import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changesSincePosition, formatAnchor, parseAnchor, readAnchorParameter } from '../../src/domain/anchor.ts';

describe('anchors', () => {
  it('are written in the shape a Windows WSUS writes them', () => {
    assert.equal(formatAnchor(9438, new Date('2026-10-04T16:33:26.670Z')), '9438,2026-10-04 16:33:26.670');
    assert.equal(formatAnchor(0, new Date('2026-01-02T03:04:05Z')), '0,2026-01-02 03:04:05.000');
  });

  it('read back what they were written from', () => {
    const issuedAt = new Date('2026-10-04T16:33:26.671Z');
    assert.deepEqual(parseAnchor(formatAnchor(123456789, issuedAt)), { position: 123456789, issuedAt });
  });

  it('read the anchors a real WSUS issued (captures 000004, 000010)', () => {
    assert.deepEqual(parseAnchor('9438,2026-10-04 16:09:27.167'), { position: 9438, issuedAt: new Date('2026-10-04T16:09:27.167Z') });
    assert.deepEqual(parseAnchor(' 9438,2026-10-04 16:09:27.371 '), { position: 9438, issuedAt: new Date('2026-10-04T16:09:27.371Z') });
    // Up to 7 fraction digits (.NET), none at all.
    assert.equal(parseAnchor('1,2026-10-04 16:09:27.3712345')?.issuedAt.getTime(), Date.parse('2026-10-04T16:09:27.371Z'));
    assert.equal(parseAnchor('1,2026-10-04 16:09:27')?.position, 1);
  });

  it('refuse anything else', () => {
    for (const bad of ['garbage', '', '9438', '9438,', ',2026-10-04 16:09:27.167', '-1,2026-10-04 16:09:27.167', '9438,2026-13-04 16:09:27.167',
      '9438,2026-02-30 16:09:27.167', '9438,2026-10-04T16:09:27.167', '9438,2026-10-04 24:00:00.000', '1e3,2026-10-04 16:09:27.167',
      '9999999999999999,2026-10-04 16:09:27.167', '9438;2026-10-04 16:09:27.167']) {
      assert.equal(parseAnchor(bad), undefined, JSON.stringify(bad));
    }
  });

  it('as a parameter: absent or empty means none, anything unreadable is invalid', () => {
    assert.deepEqual(readAnchorParameter(undefined), { kind: 'none' });
    assert.deepEqual(readAnchorParameter('  '), { kind: 'none' });
    assert.deepEqual(readAnchorParameter('garbage'), { kind: 'invalid' });
    assert.equal(readAnchorParameter('5,2026-10-04 16:09:27.167').kind, 'anchor');
  });

  it('name a position to answer from; one past the current position means everything', () => {
    const issuedAt = new Date();
    assert.equal(changesSincePosition(undefined, 10), undefined);
    assert.equal(changesSincePosition({ position: 7, issuedAt }, 10), 7);
    assert.equal(changesSincePosition({ position: 10, issuedAt }, 10), 10);
    // A restored database, or an anchor another server issued: nothing can be trusted about it.
    assert.equal(changesSincePosition({ position: 11, issuedAt }, 10), undefined);
  });

  it('refuse to write what cannot be read back', () => {
    assert.throws(() => formatAnchor(-1, new Date()), RangeError);
    assert.throws(() => formatAnchor(1.5, new Date()), RangeError);
    assert.throws(() => formatAnchor(1, new Date(Number.NaN)), RangeError);
  });
});
