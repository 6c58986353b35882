// The pure rules under the content route: URL names, Range, and conditional requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluatePreconditions, evaluateRange, ifRangeHolds, type Validators } from '../../src/services/content/conditional.ts';
import { parseContentName } from '../../src/services/content/name.ts';

const HEX = '2F88DF42DA48AA980FB748D13BAA2DE49CD154AB';

test('content names: digest + extension in the digest\'s folder, any case', () => {
  for (const [folder, name] of [
    ['AB', `${HEX}.exe`],
    ['ab', `${HEX.toLowerCase()}.EXE`],
    ['Ab', `${HEX}.Exe`],
  ] as const) {
    const parsed = parseContentName(folder, name);
    assert.equal(parsed.kind, 'file', `${folder}/${name}`);
    if (parsed.kind !== 'file') continue;
    assert.equal(parsed.sha1Hex, HEX);
    assert.equal(Buffer.from(parsed.file.sha1, 'base64').toString('hex').toUpperCase(), HEX);
    assert.match(parsed.file.fileName, /\.exe$/i);
  }
  assert.equal(parseContentName('AB', HEX).kind, 'no-extension');
  assert.equal(parseContentName('AB', `${HEX}.`).kind, 'no-extension');
  for (const [folder, name] of [
    ['AC', `${HEX}.exe`], // wrong folder
    ['B', `${HEX}.exe`],
    ['ABC', `${HEX}.exe`],
    ['AB', `${HEX}.exe.exe`],
    ['AB', `${HEX}..exe`],
    ['AB', `${HEX.slice(1)}.exe`],
    ['AB', `${HEX}.e/x`],
    ['AB', `${HEX}.e\\x`],
    ['AB', `${HEX}.e\0`],
    ['..', `${HEX}.exe`],
    ['AB', '..'],
    ['AB', `${HEX}.${'x'.repeat(33)}`],
    ['AB', ''],
  ] as const) {
    assert.equal(parseContentName(folder, name).kind, 'invalid', JSON.stringify([folder, name]));
  }
});

test('Range: single ranges, suffixes, clamping, unsatisfiable and ignored forms', () => {
  const size = 1000;
  const cases: [string | undefined, ReturnType<typeof evaluateRange>][] = [
    [undefined, { kind: 'whole' }],
    ['bytes=0-499', { kind: 'partial', span: { start: 0, end: 499 } }],
    ['bytes=500-', { kind: 'partial', span: { start: 500, end: 999 } }],
    ['bytes=-100', { kind: 'partial', span: { start: 900, end: 999 } }],
    ['bytes=-5000', { kind: 'partial', span: { start: 0, end: 999 } }],
    ['bytes=990-5000', { kind: 'partial', span: { start: 990, end: 999 } }],
    ['BYTES=1-1', { kind: 'partial', span: { start: 1, end: 1 } }],
    [' bytes = 1-2 ', { kind: 'partial', span: { start: 1, end: 2 } }],
    ['bytes=1000-', { kind: 'unsatisfiable' }],
    ['bytes=1000-1000', { kind: 'unsatisfiable' }],
    ['bytes=5-4', { kind: 'unsatisfiable' }],
    ['bytes=-0', { kind: 'unsatisfiable' }],
    ['bytes=0-1,5-6', { kind: 'whole' }],
    ['bytes=', { kind: 'whole' }],
    ['bytes=-', { kind: 'whole' }],
    ['bytes=a-b', { kind: 'whole' }],
    ['bytes=+1-2', { kind: 'whole' }],
    ['bytes=1.5-2', { kind: 'whole' }],
    ['pages=1-2', { kind: 'whole' }],
    ['1-2', { kind: 'whole' }],
  ];
  for (const [header, expected] of cases) assert.deepEqual(evaluateRange(header, size), expected, String(header));
  assert.deepEqual(evaluateRange('bytes=0-', 0), { kind: 'unsatisfiable' });
  assert.deepEqual(evaluateRange('bytes=-1', 0), { kind: 'unsatisfiable' });
  assert.deepEqual(evaluateRange('bytes=0-18446744073709551615', 10), { kind: 'partial', span: { start: 0, end: 9 } });
});

test('preconditions in RFC 9110 order, and If-Range', () => {
  const v: Validators = { etag: '"abc:0"', lastModifiedSeconds: 1_700_000_000 };
  const at = (seconds: number): string => new Date(seconds * 1000).toUTCString();
  const lm = v.lastModifiedSeconds;
  assert.equal(evaluatePreconditions({}, v), 'proceed');
  assert.equal(evaluatePreconditions({ ifNoneMatch: '"abc:0"' }, v), 'not-modified');
  assert.equal(evaluatePreconditions({ ifNoneMatch: 'W/"abc:0"' }, v), 'not-modified');
  assert.equal(evaluatePreconditions({ ifNoneMatch: '"x", "abc:0"' }, v), 'not-modified');
  assert.equal(evaluatePreconditions({ ifNoneMatch: '"a,b", "abc:0"' }, v), 'not-modified');
  assert.equal(evaluatePreconditions({ ifNoneMatch: '"abc"' }, v), 'proceed');
  assert.equal(evaluatePreconditions({ ifModifiedSince: at(lm) }, v), 'not-modified');
  assert.equal(evaluatePreconditions({ ifModifiedSince: at(lm - 1) }, v), 'proceed');
  assert.equal(evaluatePreconditions({ ifModifiedSince: 'garbage' }, v), 'proceed');
  assert.equal(evaluatePreconditions({ ifNoneMatch: '"x"', ifModifiedSince: at(lm + 10) }, v), 'proceed');
  assert.equal(evaluatePreconditions({ ifMatch: '"x"' }, v), 'failed');
  assert.equal(evaluatePreconditions({ ifMatch: 'W/"abc:0"' }, v), 'failed');
  assert.equal(evaluatePreconditions({ ifMatch: '"abc:0"', ifNoneMatch: '"abc:0"' }, v), 'not-modified');
  assert.equal(evaluatePreconditions({ ifUnmodifiedSince: at(lm - 1) }, v), 'failed');
  assert.equal(evaluatePreconditions({ ifUnmodifiedSince: at(lm) }, v), 'proceed');
  // If-Match present: If-Unmodified-Since is not looked at.
  assert.equal(evaluatePreconditions({ ifMatch: '*', ifUnmodifiedSince: at(lm - 1) }, v), 'proceed');

  assert.equal(ifRangeHolds(undefined, v), true);
  assert.equal(ifRangeHolds('"abc:0"', v), true);
  assert.equal(ifRangeHolds('W/"abc:0"', v), false);
  assert.equal(ifRangeHolds('"other"', v), false);
  assert.equal(ifRangeHolds(at(lm), v), true);
  assert.equal(ifRangeHolds(at(lm + 1), v), false);
  assert.equal(ifRangeHolds('nonsense', v), false);
});
