// Writing: the envelope writer reproduces every captured answer and fault byte for byte, and the
// element builder writes values the way .NET does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_REQUEST_LIMITS,
  readSoapEnvelope,
  readSoapFault,
  soapActionOf,
  SoapFault,
  SoapOperation,
  SoapXmlBuilder,
  writeSoapFault,
  writeSoapRequest,
  writeSoapResponse,
  type EnvelopeStyle,
} from '../../src/soap/index.ts';
import { NATIVE, readCaptures, SERVER_SYNC_NS, WSUSSS, type Capture } from './helpers.ts';

function styleOf(capture: Capture): EnvelopeStyle {
  return capture.meta.path.toLowerCase().startsWith('/clientwebservice/') ? 'wcf' : 'asmx';
}

function innerOf(text: string, operation: string, namespace: string): string {
  const start = `<${operation}Response xmlns="${namespace}"`;
  const at = text.indexOf(start);
  assert.ok(at > 0, `no ${start}`);
  const after = text.slice(at + start.length);
  if (after.startsWith('/>') || after.startsWith(' />')) return '';
  const end = text.lastIndexOf(`</${operation}Response>`);
  return text.slice(at + start.length + 1, end);
}

describe('writeSoapResponse reproduces the captured answers', () => {
  const answers = [...readCaptures(WSUSSS), ...readCaptures(NATIVE)].filter((c) => c.meta.status === 200);
  it('covers both folders', () => assert.equal(answers.length, 16 + 10));
  for (const capture of answers) {
    const action = soapActionOf(capture.requestHeaders.get('soapaction'))!;
    const slash = action.lastIndexOf('/');
    const namespace = action.slice(0, slash);
    const operation = action.slice(slash + 1);
    it(`${capture.folder.split('/')[0]} ${capture.id} ${operation} (${styleOf(capture)})`, () => {
      const text = capture.responseBody.toString('utf8');
      const written = writeSoapResponse({ style: styleOf(capture), version: '1.1' }, namespace, operation, innerOf(text, operation, namespace));
      assert.equal(written, text);
    });
  }
});

describe('writeSoapFault reproduces the captured faults', () => {
  const faults = readCaptures(WSUSSS).filter((c) => c.meta.status === 500);
  for (const capture of faults) {
    it(capture.id, () => {
      const text = capture.responseBody.toString('utf8');
      const read = readSoapFault(readSoapEnvelope(text, DEFAULT_REQUEST_LIMITS))!;
      const fault = new SoapFault(read.errorCode, read.message);
      assert.equal(fault.faultCode, read.faultCode, 'Server exactly for InternalServerError');
      const written = writeSoapFault({ style: 'asmx', version: '1.1' }, fault, {
        id: read.id!,
        actor: 'http://127.0.0.1:8530/ServerSyncWebService/ServerSyncWebService.asmx',
        method: `"${soapActionOf(capture.requestHeaders.get('soapaction'))}"`,
      });
      assert.equal(written, text);
    });
  }

  it('writes SOAP 1.2 faults that read back', () => {
    const written = writeSoapFault({ style: 'asmx', version: '1.2' }, new SoapFault('ServerBusy', 'a < b'), {
      id: '94327110-fc7e-4c3c-878d-186ab273d9fd',
      method: '"urn:x/Op"',
    });
    assert.match(written, /<soap:Code><soap:Value>soap:Sender<\/soap:Value><\/soap:Code>/);
    assert.doesNotMatch(written, /Node/);
    const read = readSoapFault(readSoapEnvelope(written, DEFAULT_REQUEST_LIMITS))!;
    assert.deepEqual([read.errorCode, read.message, read.faultCode, read.method], ['ServerBusy', 'a < b', 'Client', '"urn:x/Op"']);
  });

  it('writes the client service faults in its own envelope', () => {
    const written = writeSoapFault({ style: 'wcf', version: '1.1' }, new SoapFault('CookieExpired'), {
      id: '94327110-fc7e-4c3c-878d-186ab273d9fd',
      actor: 'http://h:8530/ClientWebService/client.asmx',
      method: '"m"',
    });
    assert.equal(
      written,
      '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode>' +
        '<faultstring xml:lang="en-US">Fault occurred</faultstring><faultactor>http://h:8530/ClientWebService/client.asmx</faultactor>' +
        '<detail><ErrorCode>CookieExpired</ErrorCode><Message></Message><ID>94327110-fc7e-4c3c-878d-186ab273d9fd</ID>' +
        '<Method>"m"</Method></detail></s:Fault></s:Body></s:Envelope>',
    );
  });
});

describe('writeSoapRequest', () => {
  it('writes what a downstream server sends and reads back', () => {
    const text = writeSoapRequest('1.1', SERVER_SYNC_NS, 'GetAuthConfig', '');
    assert.equal(
      text,
      '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body>' +
        '<GetAuthConfig xmlns="http://www.microsoft.com/SoftwareDistribution" /></soap:Body></soap:Envelope>',
    );
    const op = new SoapOperation(
      readSoapEnvelope(writeSoapRequest('1.2', SERVER_SYNC_NS, 'GetCookie', '<protocolVersion>1.20</protocolVersion>'), DEFAULT_REQUEST_LIMITS),
      '',
    );
    assert.deepEqual([op.version, op.name, op.string('protocolVersion')], ['1.2', 'GetCookie', '1.20']);
  });
});

describe('SoapXmlBuilder', () => {
  it('writes elements, lists, nil and escapes', () => {
    const x = new SoapXmlBuilder()
      .start('R', { a: 'x"<y', skip: undefined })
      .element('S', 'a & b < c > d')
      .element('Empty', '')
      .element('Omitted', undefined)
      .element('Null', null)
      .element('B', true)
      .element('N', -5)
      .element('L', 2n ** 63n - 1n)
      .element('D', new Date('2026-10-04T13:17:07.590Z'))
      .element('W', new Date('2026-10-04T13:17:07Z'))
      .element('Bytes', Buffer.from([1, 2, 3]))
      .list('Ints', 'int', [1, 2])
      .list('None', 'int', [])
      .list('Ids', [{ id: 'g', rev: 1 }], (b, item) => b.start('UpdateIdentity').element('UpdateID', item.id).element('RevisionNumber', item.rev).end())
      .nil('Nothing')
      .start('T')
      .text('t')
      .raw('<Raw/>')
      .end()
      .end();
    assert.equal(
      x.xml,
      '<R a="x&quot;&lt;y"><S>a &amp; b &lt; c &gt; d</S><Empty /><B>true</B><N>-5</N><L>9223372036854775807</L>' +
        '<D>2026-10-04T13:17:07.59Z</D><W>2026-10-04T13:17:07Z</W><Bytes>AQID</Bytes><Ints><int>1</int><int>2</int></Ints><None />' +
        '<Ids><UpdateIdentity><UpdateID>g</UpdateID><RevisionNumber>1</RevisionNumber></UpdateIdentity></Ids>' +
        '<Nothing xsi:nil="true" /><T>t<Raw/></T></R>',
    );
  });

  it('closes empty elements the WCF way when asked', () => {
    assert.equal(new SoapXmlBuilder({ emptyElement: '/>' }).start('A').element('Parameter', '').end().xml, '<A><Parameter/></A>');
  });

  it('refuses unbalanced use', () => {
    assert.throws(() => new SoapXmlBuilder().start('A').xml, /still open/);
    assert.throws(() => new SoapXmlBuilder().end(), /without an open element/);
    assert.throws(() => new SoapXmlBuilder().element('N', Number.NaN), RangeError);
  });

  it('builds a large answer quickly enough to serve', () => {
    const ids = Array.from({ length: 24_509 }, (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`);
    const x = new SoapXmlBuilder().start('GetRevisionIdListResult').element('Anchor', '1,2026-10-04 16:33:26.671');
    x.list('NewRevisions', ids, (b, id) => b.start('UpdateIdentity').element('UpdateID', id).element('RevisionNumber', 100).end());
    const xml = x.end().xml;
    assert.ok(xml.length > 2_500_000);
    const op = new SoapOperation(
      readSoapEnvelope(writeSoapResponse({ style: 'asmx', version: '1.1' }, SERVER_SYNC_NS, 'GetRevisionIdList', xml), {
        ...DEFAULT_REQUEST_LIMITS,
      }),
      '',
    );
    assert.equal(op.need('GetRevisionIdListResult').list('NewRevisions').length, 24_509);
  });
});
