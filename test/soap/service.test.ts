// Toy services on a real fastify on loopback: captured requests replayed over HTTP get answers and
// faults in the captured shapes, and bad input of every kind gets a clean fault while the server
// keeps serving.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { Agent, request } from 'undici';
import { decodeXpressBody } from '../../src/metadata/xpress.ts';
import {
  defineSoapService,
  DEFAULT_REQUEST_LIMITS,
  readSoapEnvelope,
  readSoapFault,
  registerSoapService,
  SoapFault,
  SoapXmlBuilder,
  sharedSoapBody,
  type SoapService,
} from '../../src/soap/index.ts';
import {
  CLIENT_NS,
  DSS_AUTH_NS,
  NATIVE,
  normalizeFault,
  readCaptures,
  SERVER_SYNC_NS,
  startServer,
  WSUSSS,
  type Capture,
  type TestServer,
} from './helpers.ts';

const SERVER_SYNC_PATH = '/ServerSyncWebService/ServerSyncWebService.asmx';
const CLIENT_PATH = '/ClientWebService/client.asmx';
const MONITORABLE_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/IMonitorable';

const serverSync: SoapService = defineSoapService({
  paths: [SERVER_SYNC_PATH],
  namespace: SERVER_SYNC_NS,
  operationNamespaces: { Ping: MONITORABLE_NS },
  operations: {
    GetAuthConfig: async (_op, req) =>
      req.result((x) =>
        x
          .element('LastChange', new Date('2026-10-04T13:16:35.433Z'))
          .start('AuthInfo')
          .start('AuthPlugInInfo')
          .element('PlugInID', 'DssTargeting')
          .element('ServiceUrl', 'DssAuthWebService/DssAuthWebService.asmx')
          .element('Parameter', '')
          .end()
          .end(),
      ),
    GetRevisionIdList: async (op, req) => {
      if (!op.has('cookie')) throw new SoapFault('InvalidCookie');
      const filter = op.need('filter');
      const anchor = filter.optString('Anchor');
      if (anchor !== undefined && !/^[0-9]+,/.test(anchor)) throw new SoapFault('InvalidParameters', 'filter', { reason: 'bad anchor' });
      const ids = filter.list('Categories').map((c) => c.guid('Id'));
      return req.result((x) =>
        x
          .element('Anchor', '9438,2026-10-04 16:33:26.742')
          .list('NewRevisions', ids, (b, id) => b.start('UpdateIdentity').element('UpdateID', id).element('RevisionNumber', 1).end()),
      );
    },
    GetUpdateData: async (op) => {
      const ids = op.needList('updateIds').map((u) => `${u.guid('UpdateID')}/${u.int('RevisionNumber')}`);
      if (ids.some((id) => id.startsWith('00000000-'))) throw new Error(`unknown revision ${ids.join(',')} at /secret/path.ts:12`);
      return `<GetUpdateDataResult><updates>${ids.map((id) => `<u>${id}</u>`).join('')}</updates></GetUpdateDataResult>`;
    },
    GetCookie: async (op, req) => {
      const version = op.string('protocolVersion');
      if (!/^[0-9]+\.[0-9]+$/.test(version)) throw new SoapFault('InvalidParameters', 'protocolVersion');
      return req.result((x) => x.element('Expiration', new Date('2026-10-04T20:33:26.654Z')).element('EncryptedData', Buffer.from('sealed')));
    },
    Unclosed: async (_op, req) => req.xml().start('UnclosedResult'),
    Ping: async () => undefined,
  },
});

const dssAuth = defineSoapService({
  paths: ['/DssAuthWebService/DssAuthWebService.asmx'],
  namespace: DSS_AUTH_NS,
  operations: {
    GetAuthorizationCookie: async (op, req) =>
      req.result((x) => x.element('PlugInId', 'DssTargeting').element('CookieData', Buffer.from(op.guid('accountGuid')))),
  },
  xpress: false,
});

const client = defineSoapService({
  paths: [CLIENT_PATH],
  namespace: CLIENT_NS,
  style: 'wcf',
  operations: {
    GetConfig: async (op, req) => {
      op.string('protocolVersion');
      const properties: Array<[string, string]> = [
        ['MaxExtendedUpdatesPerRequest', '50'],
        ['PackageServerShare', '\\\\REDACTED2\\UpdateServicesPackages'],
        ['ProtocolVersion', '3.2'],
        ['IsInventoryRequired', '0'],
        ['ClientReportingLevel', '2'],
      ];
      return req.result((x) =>
        x
          .element('LastChange', new Date('2026-10-04T13:17:07.59Z'))
          .element('IsRegistrationRequired', true)
          .start('AuthInfo')
          .start('AuthPlugInInfo')
          .element('PlugInID', 'SimpleTargeting')
          .element('ServiceUrl', 'SimpleAuthWebService/SimpleAuth.asmx')
          .element('Parameter', '')
          .end()
          .end()
          .list('Properties', properties, (b, [name, value]) =>
            b.start('ConfigurationProperty').element('Name', name).element('Value', value).end(),
          ),
      );
    },
    RegisterComputer: async (op) => {
      op.need('computerInfo').string('DnsName');
    },
    StartCategoryScan: async (op, req) => {
      const ids = op.needList('requestedCategories').map((c) => c.guid('CategoryId'));
      return req.xml().list('preferredCategoryIds', 'guid', ids);
    },
    SyncUpdates: async (op, req) => {
      const installed = op.need('parameters').ints('InstalledNonLeafUpdateIDs');
      if (installed.length > 400) throw new SoapFault('InvalidParameters', 'parameters.InstalledNonLeafUpdateIDs');
      return req.result((x) => x.element('Truncated', false));
    },
  },
});

let server: TestServer;
const agent = new Agent({ connections: 4 });

before(async () => {
  server = await startServer(async (app) => {
    await registerSoapService(app, serverSync);
    await registerSoapService(app, dssAuth);
    await registerSoapService(app, client);
  });
});
after(async () => {
  await server.close();
  await agent.close();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

async function post(path: string, body: string | Buffer | Readable, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await request(server.url + path, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'text/xml; charset=utf-8', ...headers },
    body,
  });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body: bytes, text: bytes.toString('utf8') };
}

/** Replays a captured request as the capture sent it (path, SOAPAction, Accept-Encoding, body). */
function replay(capture: Capture, extra: Record<string, string> = {}): Promise<Answer> {
  const headers: Record<string, string> = { soapaction: capture.requestHeaders.get('soapaction')! };
  const acceptEncoding = capture.requestHeaders.get('accept-encoding');
  if (acceptEncoding !== undefined) headers['accept-encoding'] = acceptEncoding;
  return post(capture.meta.path, capture.requestBody, { ...headers, ...extra });
}

function faultOf(answer: Answer): SoapFault {
  assert.equal(answer.status, 500, answer.text);
  const fault = readSoapFault(readSoapEnvelope(answer.text, DEFAULT_REQUEST_LIMITS));
  assert.ok(fault, answer.text);
  assert.match(fault.id!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  return fault;
}

function assertClientFault(answer: Answer, message: RegExp): SoapFault {
  const fault = faultOf(answer);
  assert.equal(fault.faultCode, 'Client');
  assert.equal(fault.errorCode, 'InvalidParameters');
  assert.match(fault.message, message);
  return fault;
}

const wsusss = readCaptures(WSUSSS);
const native = readCaptures(NATIVE);
const captured = (list: Capture[], id: string): Capture => list.find((c) => c.id === id)!;

describe('answers in the captured shape', () => {
  it('GetAuthConfig (asmx style) byte for byte', async () => {
    const capture = captured(wsusss, '000001');
    const answer = await replay(capture);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['content-type'], 'text/xml; charset=utf-8');
    assert.equal(answer.headers['cache-control'], 'private, max-age=0');
    assert.equal(answer.text, capture.responseBody.toString('utf8'));
  });

  it('GetConfig, RegisterComputer, StartCategoryScan (wcf style) byte for byte, XPRESS on the wire', async () => {
    for (const id of ['000001', '000004', '000005']) {
      const capture = captured(native, id);
      const answer = await replay(capture);
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.headers['content-encoding'], 'xpress');
      assert.equal(answer.headers['vary'], 'Accept-Encoding');
      assert.equal(answer.headers['cache-control'], 'private');
      assert.equal(decodeXpressBody(answer.body).toString('utf8'), capture.responseBody.toString('utf8'), id);
    }
  });

  it('the XPRESS body decodes to exactly the plain answer', async () => {
    const capture = captured(native, '000001');
    const plain = await replay(capture, { 'accept-encoding': 'identity' });
    const packed = await replay(capture, { 'accept-encoding': 'gzip, xpress' });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(packed.headers['content-encoding'], 'xpress');
    assert.ok(packed.body.length < plain.body.length);
    assert.deepEqual(decodeXpressBody(packed.body), plain.body);
  });

  it('a service with xpress off answers plain', async () => {
    const answer = await replay(captured(wsusss, '000002'), { 'accept-encoding': 'xpress' });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.headers['content-encoding'], undefined);
    assert.equal(answer.headers['vary'], undefined);
    assert.match(answer.text, /^<\?xml version="1.0" encoding="utf-8"\?><soap:Envelope .*<PlugInId>DssTargeting<\/PlugInId><CookieData>/);
  });

  it('every captured request of the toy operations dispatches', async () => {
    for (const capture of wsusss.filter((c) => /GetRevisionIdList|GetCookie"$/.test(c.meta.soap_action) && c.meta.status === 200)) {
      const answer = await replay(capture);
      assert.equal(answer.status, 200, `${capture.id}: ${answer.text}`);
      assert.match(answer.text, /<(GetRevisionIdList|GetCookie)Response xmlns="http:\/\/www.microsoft.com\/SoftwareDistribution"><\1Result>/);
    }
  });
});

describe('faults in the captured shape', () => {
  for (const id of ['000017', '000018', '000019']) {
    it(`${id} replayed`, async () => {
      const capture = captured(wsusss, id);
      const answer = await replay(capture);
      assert.equal(answer.status, 500);
      assert.equal(answer.headers['content-type'], 'text/xml; charset=utf-8');
      assert.equal(answer.headers['cache-control'], 'private');
      assert.equal(normalizeFault(answer.text), normalizeFault(capture.responseBody.toString('utf8')));
      const fault = faultOf(answer);
      assert.equal(fault.actor, `${server.url}${SERVER_SYNC_PATH}`);
      const logged = server.logs.find((l) => (l.soapFault as { id?: string } | undefined)?.id === fault.id);
      assert.ok(logged, 'the fault ID is in the log');
      if (id === '000017') {
        assert.equal(logged.level, 50);
        assert.match(JSON.stringify(logged.err), /unknown revision/);
        assert.doesNotMatch(answer.text, /unknown revision|secret|\.ts:|at /);
      }
    });
  }

  it('InvalidParameters with a nested path, in the client service envelope', async () => {
    const ids = Array.from({ length: 401 }, (_, i) => `<int>${i}</int>`).join('');
    const answer = await post(
      CLIENT_PATH,
      `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><SyncUpdates xmlns="${CLIENT_NS}">` +
        `<cookie/><parameters><InstalledNonLeafUpdateIDs>${ids}</InstalledNonLeafUpdateIDs></parameters></SyncUpdates></s:Body></s:Envelope>`,
      { soapaction: `"${CLIENT_NS}/SyncUpdates"` },
    );
    assert.match(answer.text, /^<s:Envelope xmlns:s="http:\/\/schemas.xmlsoap.org\/soap\/envelope\/"><s:Body><s:Fault><faultcode>s:Client<\/faultcode>/);
    const fault = assertClientFault(answer, /^parameters\.InstalledNonLeafUpdateIDs$/);
    assert.equal(fault.method, `"${CLIENT_NS}/SyncUpdates"`);
  });

  it('a result left unfinished is an InternalServerError', async () => {
    const answer = await post(SERVER_SYNC_PATH, envelope11('<Unclosed xmlns="http://www.microsoft.com/SoftwareDistribution"/>'), {
      soapaction: `"${SERVER_SYNC_NS}/Unclosed"`,
    });
    const fault = faultOf(answer);
    assert.equal(fault.faultCode, 'Server');
    assert.equal(fault.errorCode, 'InternalServerError');
    assert.equal(fault.message, '');
  });
});

function envelope11(inner: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>${inner}</soap:Body></soap:Envelope>`;
}

function envelope12(inner: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><soap12:Envelope xmlns:soap12="http://www.w3.org/2003/05/soap-envelope"><soap12:Body>${inner}</soap12:Body></soap12:Envelope>`;
}

const GET_COOKIE = `<GetCookie xmlns="${SERVER_SYNC_NS}"><authCookies/><protocolVersion>1.20</protocolVersion></GetCookie>`;

describe('dispatch', () => {
  it('SOAP 1.2: action in Content-Type, answer and faults in 1.2', async () => {
    const answer = await post(SERVER_SYNC_PATH, envelope12(GET_COOKIE), {
      'content-type': `application/soap+xml; charset=utf-8; action="${SERVER_SYNC_NS}/GetCookie"`,
    });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.headers['content-type'], 'application/soap+xml; charset=utf-8');
    assert.match(
      answer.text,
      /^<\?xml version="1.0" encoding="utf-8"\?><soap:Envelope xmlns:soap="http:\/\/www.w3.org\/2003\/05\/soap-envelope" xmlns:xsi=.*<GetCookieResponse xmlns="http:\/\/www.microsoft.com\/SoftwareDistribution"><GetCookieResult><Expiration>2026-10-04T20:33:26.654Z<\/Expiration><EncryptedData>c2VhbGVk<\/EncryptedData>/,
    );
    const bad = await post(SERVER_SYNC_PATH, envelope12(GET_COOKIE.replace('1.20', 'one')), {
      'content-type': `application/soap+xml; charset=utf-8; action="${SERVER_SYNC_NS}/GetCookie"`,
    });
    assert.equal(bad.headers['content-type'], 'application/soap+xml; charset=utf-8');
    assert.match(bad.text, /<soap:Value>soap:Sender<\/soap:Value>.*<soap:Node>http:.*<soap:Detail><ErrorCode>InvalidParameters<\/ErrorCode><Message>protocolVersion<\/Message>/);
    assert.equal(faultOf(bad).message, 'protocolVersion');
  });

  it('unquoted, empty and missing SOAPAction', async () => {
    const unquoted = await post(SERVER_SYNC_PATH, envelope11(GET_COOKIE), { soapaction: `${SERVER_SYNC_NS}/GetCookie` });
    assert.equal(unquoted.status, 200, unquoted.text);
    const empty = await post(SERVER_SYNC_PATH, envelope11(GET_COOKIE), { soapaction: '""' });
    assert.equal(empty.status, 200, empty.text);
    const missing = await post(SERVER_SYNC_PATH, envelope11(GET_COOKIE));
    assert.equal(missing.status, 200, missing.text);
    const fault = faultOf(await post(SERVER_SYNC_PATH, envelope11(GET_COOKIE.replace('1.20', 'x'))));
    assert.equal(fault.method, `"${SERVER_SYNC_NS}/GetCookie"`);
  });

  it('an operation in another namespace (Ping of IMonitorable)', async () => {
    const answer = await post(SERVER_SYNC_PATH, envelope11(`<Ping xmlns="${MONITORABLE_NS}"/>`), { soapaction: `"${MONITORABLE_NS}/Ping"` });
    assert.equal(answer.status, 200, answer.text);
    assert.match(answer.text, new RegExp(`<soap:Body><PingResponse xmlns="${MONITORABLE_NS}" /></soap:Body>`));
  });

  it('unknown SOAPAction, mismatched body, unknown operation element', async () => {
    const unknown = await post(SERVER_SYNC_PATH, envelope11(GET_COOKIE), { soapaction: `"${SERVER_SYNC_NS}/Nope"` });
    const fault = assertClientFault(unknown, /did not recognize the value of HTTP Header SOAPAction: http:\/\/www.microsoft.com\/SoftwareDistribution\/Nope\./);
    assert.equal(fault.method, `"${SERVER_SYNC_NS}/Nope"`);
    assertClientFault(await post(SERVER_SYNC_PATH, envelope11(GET_COOKIE), { soapaction: `"${CLIENT_NS}/GetCookie"` }), /SOAPAction/);
    assertClientFault(
      await post(SERVER_SYNC_PATH, envelope11(GET_COOKIE), { soapaction: `"${SERVER_SYNC_NS}/GetAuthConfig"` }),
      /holds <GetCookie .* names GetAuthConfig/,
    );
    assertClientFault(await post(SERVER_SYNC_PATH, envelope11(`<Nope xmlns="${SERVER_SYNC_NS}"/>`)), /<Nope .* not an operation/);
    assertClientFault(
      await post(SERVER_SYNC_PATH, envelope11(`<GetCookie xmlns="urn:elsewhere"/>`)),
      /not an operation of ServerSyncWebService/,
    );
  });

  it('SOAP-encoded and literal arrays both reach the handler', async () => {
    const literal = await post(
      SERVER_SYNC_PATH,
      envelope11(
        `<GetRevisionIdList xmlns="${SERVER_SYNC_NS}"><cookie/><filter><GetConfig>false</GetConfig><Categories>` +
          `<IdAndDelta><Id>8C3FCC84-7410-4A95-8B89-A166A0190486</Id><Delta>false</Delta></IdAndDelta></Categories></filter></GetRevisionIdList>`,
      ),
      { soapaction: `"${SERVER_SYNC_NS}/GetRevisionIdList"` },
    );
    assert.match(literal.text, /<UpdateID>8c3fcc84-7410-4a95-8b89-a166a0190486<\/UpdateID>/);
    const encoded = await post(
      SERVER_SYNC_PATH,
      `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" ` +
        `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:tns="${SERVER_SYNC_NS}"><soap:Body>` +
        `<tns:GetRevisionIdList><cookie/><filter><Anchor xsi:nil="true"/><GetConfig>false</GetConfig>` +
        `<Categories xsi:type="soapenc:Array" soapenc:arrayType="tns:IdAndDelta[1]"><item><Id>8c3fcc84-7410-4a95-8b89-a166a0190486</Id><Delta>false</Delta></item></Categories>` +
        `</filter></tns:GetRevisionIdList></soap:Body></soap:Envelope>`,
      { soapaction: `"${SERVER_SYNC_NS}/GetRevisionIdList"` },
    );
    assert.equal(encoded.text, literal.text);
  });

  it('a 3 MB request with 24,509 ids is served', async () => {
    const items = Array.from(
      { length: 24_509 },
      (_, i) => `<IdAndDelta><Id>00000000-0000-0000-0000-${String(i).padStart(12, '0')}</Id><Delta>true</Delta></IdAndDelta>`,
    ).join('');
    const body = envelope11(`<GetRevisionIdList xmlns="${SERVER_SYNC_NS}"><cookie/><filter><GetConfig>false</GetConfig><Categories>${items}</Categories></filter></GetRevisionIdList>`);
    assert.ok(body.length > 2_000_000);
    const answer = await post(SERVER_SYNC_PATH, body, { soapaction: `"${SERVER_SYNC_NS}/GetRevisionIdList"` });
    assert.equal(answer.status, 200);
    assert.equal(answer.text.match(/<UpdateIdentity>/g)?.length, 24_509);
  });
});

describe('routes', () => {
  it('paths are case-insensitive and the // form of a path is served', async () => {
    assert.equal((await replay(captured(native, '000001'), { 'accept-encoding': 'identity' })).status, 200);
    const upper = await post('/CLIENTWEBSERVICE/Client.ASMX', captured(native, '000001').requestBody, {
      soapaction: `"${CLIENT_NS}/GetConfig"`,
    });
    assert.equal(upper.status, 200);
    const capture = captured(wsusss, '000002');
    const doubled = await post(`/${capture.meta.path}`, capture.requestBody, { soapaction: capture.requestHeaders.get('soapaction')! });
    assert.equal(doubled.status, 200, doubled.text);
    assert.match(doubled.text, /GetAuthorizationCookieResult/);
  });

  it('also works when the router itself ignores duplicate slashes', async () => {
    const app = Fastify({ routerOptions: { caseSensitive: false, ignoreDuplicateSlashes: true } });
    await registerSoapService(app as unknown as FastifyInstance, dssAuth);
    try {
      const capture = captured(wsusss, '000002');
      const res = await app.inject({
        method: 'POST',
        url: `/${capture.meta.path}`,
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: capture.requestHeaders.get('soapaction')! },
        payload: capture.requestBody,
      });
      assert.equal(res.statusCode, 200, res.body);
    } finally {
      await app.close();
    }
  });

  it('GET and HEAD answer a short service description', async () => {
    const res = await request(`${server.url}${CLIENT_PATH}`, { dispatcher: agent });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^text\/plain/);
    assert.match(await res.body.text(), /^client: a WSUS SOAP service .*\nOperations: GetConfig, RegisterComputer, StartCategoryScan, SyncUpdates\n$/);
    const head = await request(`${server.url}${SERVER_SYNC_PATH}`, { method: 'HEAD', dispatcher: agent });
    assert.equal(head.statusCode, 200);
    await head.body.dump();
  });
});

describe('bad input gets a clean fault and the server keeps serving', () => {
  const action = { soapaction: `"${SERVER_SYNC_NS}/GetCookie"` };
  const nested = (depth: number) => envelope11(`<GetCookie xmlns="${SERVER_SYNC_NS}">${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</GetCookie>`);
  const cases: Array<[string, string | Buffer, Record<string, string>, RegExp]> = [
    ['not XML', 'this is not xml', action, /not acceptable XML/],
    ['JSON as text/xml', '{"GetCookie":{}}', action, /not acceptable XML/],
    [
      'DTD with entities',
      `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>${envelope11(GET_COOKIE).replace('<?xml version="1.0" encoding="utf-8"?>', '').replace('1.20', '&b;')}`,
      action,
      /DOCTYPE declarations are not allowed/,
    ],
    ['empty body', '', action, /empty/],
    ['wrong root', `<GetCookie xmlns="${SERVER_SYNC_NS}"/>`, action, /not a SOAP Envelope/],
    ['no Body', '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>', action, /has no Body/],
    ['empty Body', envelope11(''), action, /Body is empty/],
    ['deep nesting', nested(500), action, /exceeds a limit: elements nest deeper than 64 levels/],
    ['not UTF-8', Buffer.from([0x3c, 0xff, 0xfe, 0x3e]), action, /not valid UTF-8/],
    ['a Content-Type that is not SOAP', envelope11(GET_COOKIE), { ...action, 'content-type': 'application/json' }, /unsupported Content-Type application\/json/],
    ['a compressed request', envelope11(GET_COOKIE), { ...action, 'content-encoding': 'gzip' }, /unsupported request Content-Encoding gzip/],
  ];
  for (const [name, body, headers, message] of cases) {
    it(name, async () => {
      const fault = assertClientFault(await post(SERVER_SYNC_PATH, body, headers), message);
      assert.equal(fault.method, `"${SERVER_SYNC_NS}/GetCookie"`);
      assert.equal((await post(SERVER_SYNC_PATH, envelope11(GET_COOKIE), action)).status, 200);
    });
  }

  it('an Envelope of another SOAP version is a VersionMismatch', async () => {
    const fault = faultOf(await post(SERVER_SYNC_PATH, '<Envelope xmlns="urn:soap-9"><Body/></Envelope>', action));
    assert.equal(fault.faultCode, 'VersionMismatch');
  });

  const tenMegabytes = (): Buffer => {
    const item = '<IdAndDelta><Id>8c3fcc84-7410-4a95-8b89-a166a0190486</Id><Delta>true</Delta></IdAndDelta>';
    const count = Math.ceil((10 * 1024 * 1024) / item.length);
    return Buffer.from(
      envelope11(`<GetRevisionIdList xmlns="${SERVER_SYNC_NS}"><cookie/><filter><GetConfig>false</GetConfig><Categories>${item.repeat(count)}</Categories></filter></GetRevisionIdList>`),
    );
  };
  const revisionAction = { soapaction: `"${SERVER_SYNC_NS}/GetRevisionIdList"` };

  it('10 MB of ids is refused (Content-Length known)', async () => {
    const body = tenMegabytes();
    assert.ok(body.length > 10 * 1024 * 1024);
    const fault = assertClientFault(await post(SERVER_SYNC_PATH, body, revisionAction), /exceeds the limit of 8388608 bytes/);
    assert.equal(fault.method, `"${SERVER_SYNC_NS}/GetRevisionIdList"`);
    assert.equal((await post(SERVER_SYNC_PATH, envelope11(GET_COOKIE), action)).status, 200);
  });

  it('10 MB of ids is refused (chunked, no Content-Length)', async () => {
    const body = tenMegabytes();
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let at = 0; at < body.length; at += 64 * 1024) yield body.subarray(at, at + 64 * 1024);
    }
    assertClientFault(await post(SERVER_SYNC_PATH, Readable.from(chunks()), revisionAction), /exceeds the limit/);
    assert.equal((await post(SERVER_SYNC_PATH, envelope11(GET_COOKIE), action)).status, 200);
  });

  // A socket client, so that what happens to the connection shows: an HTTP/1.1 client sends its
  // whole request before it reads the answer (RFC 9112 §9.6 asks the server for a lingering close).
  interface RawExchange {
    /** Bytes of the body written before the socket failed or closed. */
    written: number;
    error?: string;
    /** Answers read in order, each with status, headers and body. */
    answers: Array<{ status: number; headers: string; body: string }>;
    closedAfterMs: number;
  }
  async function sendRaw(
    url: string,
    head: string,
    size: number,
    pace: { chunk: number; everyMs: number } | undefined,
    then?: string,
  ): Promise<RawExchange> {
    const { hostname, port } = new URL(url);
    const socket: Socket = connect(Number(port), hostname);
    const started = Date.now();
    let received = Buffer.alloc(0);
    let written = 0;
    let error: string | undefined;
    const answers: RawExchange['answers'] = [];
    socket.on('error', (e) => (error = (e as NodeJS.ErrnoException).code ?? e.message));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      for (;;) {
        const end = received.indexOf('\r\n\r\n');
        if (end === -1) return;
        const headers = received.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length: *([0-9]+)/i.exec(headers)?.[1] ?? 0);
        if (received.length < end + 4 + length) return;
        answers.push({ status: Number(headers.slice(9, 12)), headers, body: received.subarray(end + 4, end + 4 + length).toString('utf8') });
        received = received.subarray(end + 4 + length);
        if (then !== undefined && answers.length === 1) socket.write(then);
      }
    });
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(head);
    const block = Buffer.alloc(pace?.chunk ?? 64 * 1024, 0x20);
    while (written < size && !socket.destroyed) {
      const n = Math.min(block.length, size - written);
      const flushed = socket.write(block.subarray(0, n));
      written += n;
      if (pace !== undefined) await new Promise((r) => setTimeout(r, pace.everyMs));
      else if (!flushed) await new Promise((r) => socket.once('drain', r).once('close', r));
    }
    await closed;
    return { written, ...(error !== undefined && { error }), answers, closedAfterMs: Date.now() - started };
  }
  const oversizedHead = (size: number, extra = ''): string =>
    `POST ${SERVER_SYNC_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml; charset=utf-8\r\n` +
    `SOAPAction: "${SERVER_SYNC_NS}/GetRevisionIdList"\r\nContent-Length: ${size}\r\n${extra}\r\n`;

  it('a client sending 10 MB can send all of it, read the fault, and reuse the connection', async () => {
    const size = 10 * 1024 * 1024;
    const next = `GET ${SERVER_SYNC_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
    const exchange = await sendRaw(server.url, oversizedHead(size), size, undefined, next);
    assert.equal(exchange.error, undefined);
    assert.equal(exchange.written, size);
    assert.deepEqual(exchange.answers.map((a) => a.status), [500, 200]);
    assert.doesNotMatch(exchange.answers[0]!.headers, /connection: close/i);
    assert.match(exchange.answers[0]!.body, /exceeds the limit of 8388608 bytes/);
  });

  it('the rest of an oversized body is read within bounds: a slow client or a huge one gets the fault and a closed socket', async () => {
    const bounded = await startServer((app) => registerSoapService(app, serverSync, { discard: { maxMs: 300, maxBytes: 16 * 1024 * 1024 } }));
    try {
      // 9 MiB declared, sent 4 KiB every 20 ms: it would take 47 s.
      const slow = await sendRaw(bounded.url, oversizedHead(9 * 1024 * 1024), 9 * 1024 * 1024, { chunk: 4096, everyMs: 20 });
      assert.deepEqual(slow.answers.map((a) => a.status), [500]);
      assert.match(slow.answers[0]!.headers, /connection: close/i);
      assert.ok(slow.closedAfterMs < 3000, `closed after ${slow.closedAfterMs} ms`);
      // Declared beyond maxBytes: not waited for at all.
      const huge = await sendRaw(bounded.url, oversizedHead(1024 * 1024 * 1024), 64 * 1024, { chunk: 4096, everyMs: 1 });
      assert.deepEqual(huge.answers.map((a) => a.status), [500]);
      assert.match(huge.answers[0]!.body, /exceeds the limit/);
      // No length declared (one 40 MiB chunk): reading stops maxBytes past the limit.
      const chunked = `POST ${SERVER_SYNC_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n${(40 * 1024 * 1024).toString(16)}\r\n`;
      const flood = await sendRaw(bounded.url, chunked, 40 * 1024 * 1024, undefined);
      assert.deepEqual(flood.answers.map((a) => a.status), [500]);
      assert.ok(flood.written < 40 * 1024 * 1024);
      assert.equal((await request(`${bounded.url}${SERVER_SYNC_PATH}`)).statusCode, 200);
    } finally {
      await bounded.close();
    }
  });

  it('element and depth limits can be set per registration', async () => {
    const tight = defineSoapService({ paths: ['/Tight/Tight.asmx'], namespace: SERVER_SYNC_NS, operations: { GetCookie: () => '' } });
    const small = await startServer((app) => registerSoapService(app, tight, { limits: { maxElements: 50 } }));
    try {
      const res = await request(`${small.url}/Tight/Tight.asmx`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml', ...action },
        body: envelope11(`<GetCookie xmlns="${SERVER_SYNC_NS}">${'<i/>'.repeat(60)}</GetCookie>`),
      });
      const text = await res.body.text();
      assert.equal(res.statusCode, 500);
      assert.match(text, /more than 50 elements/);
    } finally {
      await small.close();
    }
  });
});

describe('shared answers', () => {
  it('one shared body answers many requests, plain and XPRESS, each in its own envelope form', async () => {
    const body = sharedSoapBody(`<GetCookieResult><Expiration>2026-10-04T20:33:26Z</Expiration></GetCookieResult>`);
    const shared = defineSoapService({ paths: ['/Shared/Shared.asmx'], namespace: SERVER_SYNC_NS, operations: { GetCookie: () => body } });
    const app = await startServer((a) => registerSoapService(a, shared));
    try {
      const call = async (headers: Record<string, string>): Promise<Answer> => {
        const res = await request(`${app.url}/Shared/Shared.asmx`, {
          method: 'POST',
          headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${SERVER_SYNC_NS}/GetCookie"`, ...headers },
          body: envelope11(GET_COOKIE),
        });
        const bytes = Buffer.from(await res.body.arrayBuffer());
        return { status: res.statusCode, headers: res.headers, body: bytes, text: bytes.toString('utf8') };
      };
      const [a, b, packed] = await Promise.all([call({}), call({}), call({ 'accept-encoding': 'xpress' })]);
      assert.equal(a.status, 200);
      assert.match(a.text, /<GetCookieResponse xmlns="[^"]+"><GetCookieResult><Expiration>2026-10-04T20:33:26Z<\/Expiration><\/GetCookieResult><\/GetCookieResponse>/);
      assert.equal(b.text, a.text);
      assert.equal(packed.headers['content-encoding'], 'xpress');
      assert.equal(decodeXpressBody(packed.body).toString('utf8'), a.text);
    } finally {
      await app.close();
    }
  });
});

describe('defineSoapService', () => {
  it('refuses definitions that cannot work', () => {
    assert.throws(() => defineSoapService({ paths: [], namespace: 'urn:x', operations: {} }), /at least one path/);
    assert.throws(() => defineSoapService({ paths: ['x.asmx'], namespace: 'urn:x', operations: {} }), /must start with one/);
    assert.throws(() => defineSoapService({ paths: ['/x.asmx'], namespace: 'urn:x', operations: { 'a b': () => '' } }), /not an XML name/);
  });

  it('refuses a second service on a path already served', async () => {
    const twin = defineSoapService({ paths: ['/ReportingWebService/ReportingWebService.asmx'], namespace: SERVER_SYNC_NS, operations: { A: () => '' } });
    await assert.rejects(
      startServer(async (app) => {
        await registerSoapService(app, twin);
        await registerSoapService(app, defineSoapService({ ...twin, operations: { B: () => '' } }));
      }),
      /POST \/ReportingWebService\/ReportingWebService.asmx is already registered/,
    );
  });

  it('gives handlers a builder in the service style', () => {
    assert.ok(new SoapXmlBuilder() instanceof SoapXmlBuilder);
    assert.equal(client.style, 'wcf');
    assert.equal(serverSync.actionOf('Ping'), `${MONITORABLE_NS}/Ping`);
    assert.equal(serverSync.operationFor(`${SERVER_SYNC_NS}/GetCookie`), 'GetCookie');
    assert.equal(serverSync.limits, DEFAULT_REQUEST_LIMITS);
  });
});
