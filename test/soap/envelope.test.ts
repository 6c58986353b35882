// Reading envelopes: both SOAP versions, any prefix, literal and SOAP-encoded arrays, nil, and
// every way a message can be malformed. Plus faults read back from the wire.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_REQUEST_LIMITS,
  readSoapEnvelope,
  readSoapFault,
  resolveSoapLimits,
  SoapFault,
  SoapMessageError,
  SoapOperation,
  type SoapMessageProblem,
} from '../../src/soap/index.ts';
import { readCaptures, SERVER_SYNC_NS, WSUSSS } from './helpers.ts';

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';
const ENC = 'http://schemas.xmlsoap.org/soap/encoding/';
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const XSD = 'http://www.w3.org/2001/XMLSchema';

function operation(xml: string, action = ''): SoapOperation {
  return new SoapOperation(readSoapEnvelope(xml, DEFAULT_REQUEST_LIMITS), action);
}

function problemOf(input: string | Uint8Array, limits = DEFAULT_REQUEST_LIMITS): SoapMessageProblem {
  try {
    readSoapEnvelope(input, limits);
  } catch (error) {
    assert.ok(error instanceof SoapMessageError, String(error));
    assert.ok(error.message.length > 10, error.message);
    return error.problem;
  }
  assert.fail('the message was accepted');
}

describe('readSoapEnvelope', () => {
  it('reads SOAP 1.2 with any prefix', () => {
    const op = operation(
      `<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="${SOAP12}"><env:Header/><env:Body>` +
        `<GetConfig xmlns="http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService"><protocolVersion>1.8</protocolVersion></GetConfig>` +
        `</env:Body></env:Envelope>`,
    );
    assert.equal(op.version, '1.2');
    assert.equal(op.name, 'GetConfig');
    assert.equal(op.string('protocolVersion'), '1.8');
  });

  it('reads a prefixed operation element and unqualified parameters', () => {
    const op = operation(
      `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${SOAP11}"><SOAP-ENV:Body><ns1:GetCookie xmlns:ns1="${SERVER_SYNC_NS}">` +
        `<protocolVersion>1.20</protocolVersion></ns1:GetCookie></SOAP-ENV:Body></SOAP-ENV:Envelope>`,
    );
    assert.equal(op.namespace, SERVER_SYNC_NS);
    assert.equal(op.string('protocolVersion'), '1.20');
  });

  it('accepts a UTF-8 byte order mark and UTF-16 with one', () => {
    const xml = `<s:Envelope xmlns:s="${SOAP11}"><s:Body><Ping xmlns="urn:x"><v>é</v></Ping></s:Body></s:Envelope>`;
    const bom8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(xml, 'utf8')]);
    assert.equal(new SoapOperation(readSoapEnvelope(bom8, DEFAULT_REQUEST_LIMITS), '').string('v'), 'é');
    const bom16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]);
    assert.equal(new SoapOperation(readSoapEnvelope(bom16, DEFAULT_REQUEST_LIMITS), '').string('v'), 'é');
  });

  it('reads SOAP-encoded inline arrays and xsi:nil', () => {
    const op = operation(
      `<soap:Envelope xmlns:soap="${SOAP11}" xmlns:soapenc="${ENC}" xmlns:xsi="${XSI}" xmlns:xsd="${XSD}" xmlns:tns="${SERVER_SYNC_NS}">` +
        `<soap:Body soap:encodingStyle="${ENC}"><tns:GetUpdateData>` +
        `<cookie xsi:nil="true"/>` +
        `<updateIds xsi:type="soapenc:Array" soapenc:arrayType="tns:UpdateIdentity[2]">` +
        `<item><UpdateID>A2FEF9B0-7951-4C2C-A42B-9E351DD1C1FE</UpdateID><RevisionNumber xsi:type="xsd:int">200</RevisionNumber></item>` +
        `<item><UpdateID>{266f6222-c89d-43f2-9f8a-69340271e677}</UpdateID><RevisionNumber>1</RevisionNumber></item>` +
        `</updateIds>` +
        `<revisionIDs soapenc:arrayType="xsd:int[3]"><int>1</int><int> 2 </int><int>-3</int></revisionIDs>` +
        `<empty soapenc:arrayType="xsd:int[0]"/>` +
        `</tns:GetUpdateData></soap:Body></soap:Envelope>`,
    );
    assert.equal(op.child('cookie'), undefined);
    assert.equal(op.has('cookie'), false);
    assert.throws(() => op.need('cookie'), (e: unknown) => e instanceof SoapFault && e.message === 'cookie');
    const ids = op.needList('updateIds').map((u) => [u.guid('UpdateID'), u.int('RevisionNumber')]);
    assert.deepEqual(ids, [
      ['a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe', 200],
      ['266f6222-c89d-43f2-9f8a-69340271e677', 1],
    ]);
    assert.deepEqual(op.ints('revisionIDs'), [1, 2, -3]);
    assert.deepEqual(op.ints('empty'), []);
  });

  it('reads SOAP-encoded multi-references (href="#id")', () => {
    const op = operation(
      `<soap:Envelope xmlns:soap="${SOAP11}" xmlns:soapenc="${ENC}" xmlns:xsi="${XSI}" xmlns:tns="${SERVER_SYNC_NS}">` +
        `<soap:Body><tns:GetUpdateData><cookie href="#id1"/><updateIds href="#id2"/></tns:GetUpdateData>` +
        `<tns:Cookie id="id1"><Expiration>2026-10-04T20:33:26.65455Z</Expiration><EncryptedData>AAAA</EncryptedData></tns:Cookie>` +
        `<soapenc:Array id="id2" soapenc:arrayType="tns:UpdateIdentity[2]"><Item href="#id3"/><Item href="#id4"/></soapenc:Array>` +
        `<tns:UpdateIdentity id="id3"><UpdateID>a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe</UpdateID><RevisionNumber>200</RevisionNumber></tns:UpdateIdentity>` +
        `<tns:UpdateIdentity id="id4"><UpdateID>266f6222-c89d-43f2-9f8a-69340271e677</UpdateID><RevisionNumber>7</RevisionNumber></tns:UpdateIdentity>` +
        `</soap:Body></soap:Envelope>`,
    );
    assert.equal(op.name, 'GetUpdateData');
    assert.deepEqual(op.need('cookie').base64('EncryptedData'), Buffer.from([0, 0, 0]));
    assert.deepEqual(op.needList('updateIds').map((u) => u.int('RevisionNumber')), [200, 7]);
  });

  it('refuses a dangling or chained reference as an invalid parameter', () => {
    const op = operation(
      `<soap:Envelope xmlns:soap="${SOAP11}"><soap:Body><Op xmlns="urn:x"><a href="#nope"/><b href="#r1"/></Op>` +
        `<r id="r1" href="#r2"/></soap:Body></soap:Envelope>`,
    );
    assert.throws(() => op.child('a'), (e: unknown) => e instanceof SoapFault && e.message === 'a');
    assert.throws(() => op.child('b'), (e: unknown) => e instanceof SoapFault && e.message === 'b');
  });

  it('reads literal arrays, empty ones as <Name/>, absent ones as empty', () => {
    const op = operation(
      `<s:Envelope xmlns:s="${SOAP11}"><s:Body><Op xmlns="urn:x"><a><int>5</int><int>6</int></a><b/></Op></s:Body></s:Envelope>`,
    );
    assert.deepEqual(op.ints('a'), [5, 6]);
    assert.deepEqual(op.ints('b'), []);
    assert.deepEqual(op.ints('c'), []);
    assert.deepEqual(op.needList('b'), []);
    assert.throws(() => op.needList('c'), (e: unknown) => e instanceof SoapFault && e.message === 'c');
  });

  it('reports malformed values under the parameter path', () => {
    const op = operation(
      `<s:Envelope xmlns:s="${SOAP11}"><s:Body><Op xmlns="urn:x"><p><n>12x</n><g>not-a-guid</g><b>yes</b><d>2026-02-30</d>` +
        `<e>@@</e><big>2147483648</big><nested><x/></nested><nil xsi:nil="true" xmlns:xsi="${XSI}"/></p></Op></s:Body></s:Envelope>`,
    );
    const p = op.need('p');
    const cases: Array<[() => unknown, string]> = [
      [() => p.int('n'), 'p.n'],
      [() => p.guid('g'), 'p.g'],
      [() => p.bool('b'), 'p.b'],
      [() => p.dateTime('d'), 'p.d'],
      [() => p.base64('e'), 'p.e'],
      [() => p.int('big'), 'p.big'],
      [() => p.string('nested'), 'p.nested'],
      [() => p.string('nil'), 'p.nil'],
      [() => p.string('missing'), 'p.missing'],
    ];
    for (const [fn, path] of cases) {
      assert.throws(fn, (e: unknown) => {
        assert.ok(e instanceof SoapFault);
        assert.equal(e.errorCode, 'InvalidParameters');
        assert.equal(e.message, path);
        assert.ok(e.reason, 'a reason for the log');
        return true;
      });
    }
    assert.equal(p.long('big'), 2147483648n);
    assert.equal(p.optInt('missing'), undefined);
    assert.equal(p.optString('nil'), undefined);
  });

  describe('refuses malformed messages', () => {
    const cases: Array<[string, string | Uint8Array, SoapMessageProblem]> = [
      ['empty', '', 'empty'],
      ['blank', '  \n ', 'empty'],
      ['not XML', 'hello, world', 'not-xml'],
      ['JSON', '{"a":1}', 'not-xml'],
      ['truncated', `<s:Envelope xmlns:s="${SOAP11}"><s:Body><Op>`, 'not-xml'],
      ['undefined entity', `<s:Envelope xmlns:s="${SOAP11}"><s:Body><Op>&xxe;</Op></s:Body></s:Envelope>`, 'not-xml'],
      [
        'DTD with entities',
        `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>` +
          `<s:Envelope xmlns:s="${SOAP11}"><s:Body><Op>&lol2;</Op></s:Body></s:Envelope>`,
        'dtd',
      ],
      [
        'external entity',
        `<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><s:Envelope xmlns:s="${SOAP11}"><s:Body><Op>&xxe;</Op></s:Body></s:Envelope>`,
        'dtd',
      ],
      ['wrong root', '<GetConfig xmlns="urn:x"/>', 'not-soap'],
      ['Envelope of another namespace', '<Envelope xmlns="urn:not-soap"><Body><Op/></Body></Envelope>', 'version'],
      ['no Body', `<s:Envelope xmlns:s="${SOAP11}"><s:Header/></s:Envelope>`, 'no-body'],
      ['Body in no namespace', `<s:Envelope xmlns:s="${SOAP11}"><Body><Op/></Body></s:Envelope>`, 'no-body'],
      ['empty Body', `<s:Envelope xmlns:s="${SOAP11}"><s:Body>  </s:Body></s:Envelope>`, 'empty-body'],
      ['invalid UTF-8', Buffer.from([0x3c, 0x61, 0xff, 0xfe, 0x3e]), 'encoding'],
    ];
    for (const [name, input, problem] of cases) it(name, () => assert.equal(problemOf(input), problem));

    it('deep nesting', () => {
      const depth = DEFAULT_REQUEST_LIMITS.maxDepth + 10;
      const xml = `<s:Envelope xmlns:s="${SOAP11}"><s:Body><Op>${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</Op></s:Body></s:Envelope>`;
      assert.equal(problemOf(xml), 'limit');
    });

    it('too many elements and too large', () => {
      const limits = resolveSoapLimits(DEFAULT_REQUEST_LIMITS, { maxElements: 100, maxBodyBytes: 4096 });
      const many = `<s:Envelope xmlns:s="${SOAP11}"><s:Body><Op>${'<i>1</i>'.repeat(200)}</Op></s:Body></s:Envelope>`;
      assert.equal(problemOf(many, limits), 'limit');
      assert.equal(problemOf(Buffer.alloc(5000, 0x20), limits), 'too-large');
    });
  });
});

describe('readSoapFault', () => {
  it('reads the captured WSUS faults', () => {
    const faults = readCaptures(WSUSSS).filter((c) => c.meta.status === 500);
    assert.deepEqual(faults.map((c) => c.id), ['000017', '000018', '000019']);
    const read = faults.map((c) => readSoapFault(readSoapEnvelope(c.responseBody, DEFAULT_REQUEST_LIMITS))!);
    assert.deepEqual(
      read.map((f) => [f.faultCode, f.errorCode, f.message, f.faultString]),
      [
        ['Server', 'InternalServerError', '', 'Fault occurred'],
        ['Client', 'InvalidParameters', 'filter', 'Fault occurred'],
        ['Client', 'InvalidCookie', '', 'Fault occurred'],
      ],
    );
    assert.equal(read[0]!.id, 'b6114a8d-9939-41e0-ad7f-0d9a72260804');
    assert.equal(read[0]!.method, '"http://www.microsoft.com/SoftwareDistribution/GetUpdateData"');
    assert.equal(read[0]!.actor, 'http://127.0.0.1:8530/ServerSyncWebService/ServerSyncWebService.asmx');
  });

  it('reads a runtime fault without a WSUS detail', () => {
    const xml =
      `<s:Envelope xmlns:s="${SOAP11}"><s:Body><s:Fault><faultcode xmlns:a="urn:wcf">a:InternalServiceFault</faultcode>` +
      `<faultstring xml:lang="en-US">The server was unable to process the request.</faultstring></s:Fault></s:Body></s:Envelope>`;
    const fault = readSoapFault(readSoapEnvelope(xml, DEFAULT_REQUEST_LIMITS))!;
    assert.equal(fault.errorCode, '');
    assert.equal(fault.faultCode, 'Server');
    assert.equal(fault.faultString, 'The server was unable to process the request.');
    assert.match(fault.describe(), /unable to process/);
  });

  it('reads a SOAP 1.2 fault', () => {
    const xml =
      `<soap:Envelope xmlns:soap="${SOAP12}"><soap:Body><soap:Fault><soap:Code><soap:Value>soap:Sender</soap:Value></soap:Code>` +
      `<soap:Reason><soap:Text xml:lang="en">Fault occurred</soap:Text></soap:Reason><soap:Node>http://h/x.asmx</soap:Node>` +
      `<soap:Detail><ErrorCode>CookieExpired</ErrorCode><Message></Message><ID>6ea693bc-a66e-4334-a797-043728561c7d</ID><Method>"a"</Method></soap:Detail>` +
      `</soap:Fault></soap:Body></soap:Envelope>`;
    const fault = readSoapFault(readSoapEnvelope(xml, DEFAULT_REQUEST_LIMITS))!;
    assert.deepEqual([fault.faultCode, fault.errorCode, fault.actor, fault.id], [
      'Client',
      'CookieExpired',
      'http://h/x.asmx',
      '6ea693bc-a66e-4334-a797-043728561c7d',
    ]);
  });

  it('is undefined for an answer', () => {
    const c = readCaptures(WSUSSS)[0]!;
    assert.equal(readSoapFault(readSoapEnvelope(c.responseBody, DEFAULT_REQUEST_LIMITS)), undefined);
  });
});
