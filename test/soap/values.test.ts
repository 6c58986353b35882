// Lexical forms of the schema types, read as .NET reads them and written as WSUS writes them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  acceptsXpress,
  contentTypeParameter,
  formatDate,
  formatDateTime,
  mediaTypeOf,
  parseBase64,
  parseBoolean,
  parseDateTime,
  parseGuid,
  parseInt32,
  parseInt64,
  soapActionOf,
} from '../../src/soap/index.ts';

describe('values', () => {
  it('int and long', () => {
    assert.equal(parseInt32(' 42 '), 42);
    assert.equal(parseInt32('-2147483648'), -2147483648);
    assert.equal(parseInt32('+7'), 7);
    for (const bad of ['', '2147483648', '1.0', '1e3', '0x10', '١', '12 3']) assert.equal(parseInt32(bad), undefined, bad);
    assert.equal(parseInt64('9223372036854775807'), 9223372036854775807n);
    assert.equal(parseInt64('9223372036854775808'), undefined);
  });

  it('boolean', () => {
    assert.deepEqual(['true', 'false', '1', '0', ' true '].map(parseBoolean), [true, false, true, false, true]);
    for (const bad of ['True', 'yes', '']) assert.equal(parseBoolean(bad), undefined, bad);
  });

  it('GUID in any case, canonical lower-case out', () => {
    const canonical = '56309036-4c77-4dd9-951a-99ee9c246a94';
    for (const form of ['56309036-4C77-4DD9-951A-99EE9C246A94', `{${canonical}}`, '563090364c774dd9951a99ee9c246a94', ` ${canonical} `]) {
      assert.equal(parseGuid(form), canonical, form);
    }
    for (const bad of ['', '56309036-4c77-4dd9-951a-99ee9c246a9', `{${canonical}`, 'g6309036-4c77-4dd9-951a-99ee9c246a94']) {
      assert.equal(parseGuid(bad), undefined, bad);
    }
  });

  it('base64', () => {
    assert.deepEqual(parseBase64('AQID'), Buffer.from([1, 2, 3]));
    assert.deepEqual(parseBase64('AQ==\n'), Buffer.from([1]));
    assert.deepEqual(parseBase64(''), Buffer.alloc(0));
    for (const bad of ['AQI', 'A===', '@@@@', 'AQ=D']) assert.equal(parseBase64(bad), undefined, bad);
  });

  it('dateTime as WSUS writes it', () => {
    const cases: Array<[string, string]> = [
      ['2026-10-04T16:03:35.9967236Z', '2026-10-04T16:03:35.996Z'],
      ['2026-10-04T13:17:07.59Z', '2026-10-04T13:17:07.590Z'],
      ['2026-10-04T15:03:36Z', '2026-10-04T15:03:36.000Z'],
      ['2026-10-04', '2026-10-04T00:00:00.000Z'],
      ['2026-10-04T18:03:36+02:00', '2026-10-04T16:03:36.000Z'],
      ['9999-12-31T23:59:59.9999999', '9999-12-31T23:59:59.999Z'],
    ];
    for (const [text, iso] of cases) assert.equal(parseDateTime(text)?.toISOString(), iso, text);
    assert.equal(parseDateTime('0001-01-01T00:00:00')?.getUTCFullYear(), 1);
    for (const bad of ['2026-02-30', '2026-13-01', '2026-10-04T24:00:00Z', '2026-10-04 16:33:26.670', '26-10-04', '']) {
      assert.equal(parseDateTime(bad), undefined, bad);
    }
    assert.equal(formatDateTime(new Date('2026-10-04T13:17:07.590Z')), '2026-10-04T13:17:07.59Z');
    assert.equal(formatDateTime(new Date('2026-10-04T13:16:35.433Z')), '2026-10-04T13:16:35.433Z');
    assert.equal(formatDateTime(new Date('2026-10-04T13:16:35Z')), '2026-10-04T13:16:35Z');
    assert.equal(formatDate(new Date('2026-10-04T23:59:59Z')), '2026-10-04');
  });
});

describe('headers', () => {
  it('SOAPAction quoted or not', () => {
    assert.equal(soapActionOf('"http://x/Op"'), 'http://x/Op');
    assert.equal(soapActionOf('http://x/Op'), 'http://x/Op');
    assert.equal(soapActionOf('""'), '');
    assert.equal(soapActionOf(undefined), undefined);
  });

  it('Content-Type media type and action parameter', () => {
    const ct = 'application/soap+xml; charset=utf-8; action="http://x/a;b"';
    assert.equal(mediaTypeOf(ct), 'application/soap+xml');
    assert.equal(contentTypeParameter(ct, 'action'), 'http://x/a;b');
    assert.equal(contentTypeParameter('application/soap+xml;Action=http://x/Op', 'action'), 'http://x/Op');
    assert.equal(contentTypeParameter('text/xml; charset=utf-8', 'action'), undefined);
  });

  it('Accept-Encoding xpress', () => {
    assert.equal(acceptsXpress('xpress'), true);
    assert.equal(acceptsXpress('gzip, XPRESS;q=0.5'), true);
    assert.equal(acceptsXpress('xpress;q=0'), false);
    assert.equal(acceptsXpress('identity'), false);
    assert.equal(acceptsXpress(undefined), false);
  });
});
