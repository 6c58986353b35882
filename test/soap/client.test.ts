// The client against real fastify routes on loopback: results, WSUS faults, and each transport
// failure reported as what it is.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Agent, ProxyAgent } from 'undici';
import {
  defineSoapService,
  registerSoapService,
  soapCall,
  SoapClientError,
  SoapFault,
  writeSoapResponse,
  type SoapCallOptions,
  type SoapClientProblem,
} from '../../src/soap/index.ts';
import { CLIENT_NS, SERVER_SYNC_NS, startServer, type TestServer } from './helpers.ts';

const SYNC_PATH = '/ServerSyncWebService/ServerSyncWebService.asmx';

const serverSync = defineSoapService({
  paths: [SYNC_PATH],
  namespace: SERVER_SYNC_NS,
  operations: {
    GetAuthConfig: (_op, req) =>
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
    GetCookie: (op, req) => {
      if (op.needList('authCookies').length !== 1) throw new SoapFault('InvalidParameters', 'authCookies');
      const version = op.string('protocolVersion');
      if (!version.startsWith('1.')) throw new SoapFault('IncompatibleProtocolVersion');
      return req.result((x) => x.element('Expiration', new Date('2026-10-04T20:33:26.654Z')).element('EncryptedData', 'AAAA'));
    },
    DownloadFiles: () => undefined,
    GetRevisionIdList: (op, req) => {
      const count = op.need('filter').int('Count');
      return req.result((x) =>
        x.element('Anchor', '1,2026-10-04 16:33:26.671').list('NewRevisions', Array.from({ length: count }, (_, i) => i), (b, i) =>
          b.start('UpdateIdentity').element('UpdateID', `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`).element('RevisionNumber', 100).end(),
        ),
      );
    },
    Explode: () => {
      throw new Error('kaboom');
    },
  },
});

const clientService = defineSoapService({
  paths: ['/ClientWebService/client.asmx'],
  namespace: CLIENT_NS,
  style: 'wcf',
  operations: {
    GetConfig: (op, req) => req.result((x) => x.element('LastChange', new Date(0)).element('ProtocolVersion', op.string('protocolVersion'))),
  },
});

const envelopeOf = (operation: string, inner: string) => writeSoapResponse({ style: 'asmx', version: '1.1' }, SERVER_SYNC_NS, operation, inner);

let server: TestServer;
let base: string;

before(async () => {
  server = await startServer(async (app) => {
    // The raw routes below read SOAP bodies too; the SOAP scopes must not be disturbed by it.
    app.addContentTypeParser(['text/xml', 'application/soap+xml'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    await registerSoapService(app, serverSync);
    await registerSoapService(app, clientService);
    // The slow routes never finish: only a client that gives up gets out.
    app.post('/slow-headers', async (_req, reply) => {
      await once(reply.raw, 'close');
      return reply;
    });
    app.post('/slow-body', (_req, reply) => {
      reply.raw.writeHead(200, { 'content-type': 'text/xml' });
      reply.raw.write('<?xml version="1.0" encoding="utf-8"?><soap:Envelope');
    });
    const big = envelopeOf('GetAuthConfig', `<GetAuthConfigResult><LastChange>${'x'.repeat(2 * 1024 * 1024)}</LastChange></GetAuthConfigResult>`);
    app.post('/big', (_req, reply) => reply.type('text/xml').send(big));
    app.post('/big-chunked', (_req, reply) => {
      reply.raw.writeHead(200, { 'content-type': 'text/xml' });
      for (let at = 0; at < big.length; at += 64 * 1024) reply.raw.write(big.slice(at, at + 64 * 1024));
      reply.raw.end();
    });
    app.post('/html-404', (_req, reply) => reply.code(404).type('text/html').send('<html><body><h1>404 - File or directory not found.</h1></body></html>'));
    app.post('/empty-503', (_req, reply) => reply.code(503).send());
    app.post('/not-soap', (_req, reply) => reply.type('text/plain').send('hello'));
    app.post('/wrong-op', (_req, reply) => reply.type('text/xml').send(envelopeOf('GetCookie', '<GetCookieResult/>')));
    app.post('/bad-value', (_req, reply) =>
      reply.type('text/xml').send(envelopeOf('GetCookie', '<GetCookieResult><Expiration>yesterday</Expiration></GetCookieResult>')),
    );
    app.post('/soap-500', (_req, reply) =>
      reply.code(500).type('text/xml').send(envelopeOf('GetAuthConfig', '<GetAuthConfigResult/>')),
    );
    app.post('/gzip', async (_req, reply) => {
      const { gzipSync } = await import('node:zlib');
      return reply.type('text/xml').header('content-encoding', 'gzip').send(gzipSync(envelopeOf('GetAuthConfig', '')));
    });
  });
  base = server.url;
});

// undici may keep a spare connection open after an aborted call, which a server close waits for
// (until the headers timeout): the calls go through this agent, closed first.
const agent = new Agent();

after(async () => {
  await agent.close();
  await server.close();
});

function call(overrides: Partial<SoapCallOptions> & Pick<SoapCallOptions, 'operation'>): ReturnType<typeof soapCall> {
  return soapCall({ url: base + SYNC_PATH, namespace: SERVER_SYNC_NS, dispatcher: agent, ...overrides });
}

/** A call to one of the raw routes. */
function callAt(path: string, overrides: Partial<SoapCallOptions> = {}): ReturnType<typeof soapCall> {
  return call({ url: base + path, operation: 'GetAuthConfig', ...overrides });
}

async function failure(promise: Promise<unknown>, problem: SoapClientProblem): Promise<SoapClientError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SoapClientError, `expected SoapClientError, got ${String(error)}`);
    assert.equal(error.problem, problem, error.message);
    return error;
  }
  assert.fail('the call succeeded');
}

describe('soapCall', () => {
  it('returns the result element', async () => {
    const answer = await call({ operation: 'GetAuthConfig' });
    assert.equal(answer.statusCode, 200);
    assert.ok(answer.result);
    assert.deepEqual(answer.result.dateTime('LastChange'), new Date('2026-10-04T13:16:35.433Z'));
    const plugin = answer.result.needList('AuthInfo')[0]!;
    assert.deepEqual([plugin.string('PlugInID'), plugin.string('ServiceUrl'), plugin.string('Parameter')], [
      'DssTargeting',
      'DssAuthWebService/DssAuthWebService.asmx',
      '',
    ]);
  });

  it('sends parameters and a void operation has no result', async () => {
    const cookie = await call({
      operation: 'GetCookie',
      body: '<authCookies><AuthorizationCookie><PlugInId>DssTargeting</PlugInId><CookieData>AAAA</CookieData></AuthorizationCookie></authCookies><protocolVersion>1.20</protocolVersion>',
    });
    assert.equal(cookie.result?.string('EncryptedData'), 'AAAA');
    const none = await call({ operation: 'DownloadFiles' });
    assert.equal(none.result, undefined);
    assert.equal(none.response.name, 'DownloadFilesResponse');
  });

  it('reads a large answer (24,509 identities)', async () => {
    const answer = await call({ operation: 'GetRevisionIdList', body: '<filter><Count>24509</Count></filter>' });
    const ids = answer.result!.list('NewRevisions');
    assert.equal(ids.length, 24_509);
    assert.equal(ids[24_508]!.guid('UpdateID'), '00000000-0000-0000-0000-000000024508');
  });

  it('speaks SOAP 1.2', async () => {
    const answer = await call({ operation: 'GetAuthConfig', soapVersion: '1.2' });
    assert.equal(answer.envelope.version, '1.2');
    assert.equal(answer.result?.string('LastChange'), '2026-10-04T13:16:35.433Z');
  });

  it('accepts XPRESS when asked', async () => {
    const answer = await soapCall({
      url: `${base}/ClientWebService/client.asmx`,
      namespace: CLIENT_NS,
      operation: 'GetConfig',
      body: '<protocolVersion>2.90</protocolVersion>',
      acceptXpress: true,
      dispatcher: agent,
    });
    assert.equal(answer.headers['content-encoding'], 'xpress');
    assert.equal(answer.result?.string('ProtocolVersion'), '2.90');
  });

  it('decodes gzip if a server sends it anyway', async () => {
    const answer = await callAt('/gzip');
    assert.equal(answer.result, undefined);
  });

  it('goes through an explicit dispatcher (a proxy here)', async () => {
    let tunnels = 0;
    const proxy: Server = createServer();
    proxy.on('connect', (req, socket, head) => {
      tunnels++;
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const dispatcher = new ProxyAgent(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`);
    try {
      const answer = await call({ operation: 'GetAuthConfig', dispatcher });
      assert.equal(answer.result?.needList('AuthInfo').length, 1);
      assert.equal(tunnels, 1);
    } finally {
      await dispatcher.close();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});

describe('soapCall faults', () => {
  it('throws the WSUS fault with its ErrorCode', async () => {
    await assert.rejects(call({ operation: 'GetCookie', body: '<authCookies/><protocolVersion>1.20</protocolVersion>' }), (error: unknown) => {
      assert.ok(error instanceof SoapFault);
      assert.deepEqual([error.errorCode, error.message, error.faultCode], ['InvalidParameters', 'authCookies', 'Client']);
      assert.equal(error.method, `"${SERVER_SYNC_NS}/GetCookie"`);
      assert.equal(error.actor, base + SYNC_PATH);
      return true;
    });
    await assert.rejects(
      call({
        operation: 'GetCookie',
        soapVersion: '1.2',
        body: '<authCookies><AuthorizationCookie/></authCookies><protocolVersion>2.0</protocolVersion>',
      }),
      (error: unknown) => error instanceof SoapFault && error.errorCode === 'IncompatibleProtocolVersion',
    );
  });

  it('an internal error is InternalServerError with nothing else', async () => {
    await assert.rejects(call({ operation: 'Explode' }), (error: unknown) => {
      assert.ok(error instanceof SoapFault);
      assert.deepEqual([error.errorCode, error.faultCode, error.message], ['InternalServerError', 'Server', '']);
      return true;
    });
  });
});

describe('soapCall transport errors', () => {
  it('HTTP errors carry the status and a body excerpt', async () => {
    const notFound = await failure(callAt('/html-404'), 'http');
    assert.equal(notFound.statusCode, 404);
    assert.match(notFound.message, /GetAuthConfig at http:.*\/html-404: HTTP 404: <html><body><h1>404 - File or directory not found/);
    assert.match(notFound.bodyExcerpt, /File or directory not found/);
    const unavailable = await failure(callAt('/empty-503'), 'http');
    assert.equal(unavailable.statusCode, 503);
    const unknownRoute = await failure(call({ operation: 'GetAuthConfig', url: `${base}/ServerSyncWebService/ServerSyncProxy.asmx` }), 'http');
    assert.equal(unknownRoute.statusCode, 404);
    const soap500 = await failure(callAt('/soap-500'), 'http');
    assert.equal(soap500.statusCode, 500);
  });

  it('answers that are not this operation are malformed', async () => {
    await failure(callAt('/not-soap'), 'malformed');
    const wrong = await failure(callAt('/wrong-op'), 'malformed');
    assert.match(wrong.message, /expected <GetAuthConfigResponse .* got <GetCookieResponse/);
    const answer = await callAt('/bad-value', { operation: 'GetCookie' });
    const bad = await failure(Promise.resolve().then(() => answer.result!.dateTime('Expiration')), 'malformed');
    assert.match(bad.message, /GetCookieResponse\/GetCookieResult\/Expiration: "yesterday" is not an xs:dateTime/);
  });

  it('enforces the response size limit, announced or streamed', async () => {
    const limits = { maxBodyBytes: 1024 * 1024 };
    const announced = await failure(callAt('/big', { limits }), 'too-large');
    assert.match(announced.message, /announces \d+ bytes, over the limit of 1048576/);
    const streamed = await failure(
      callAt('/big-chunked', { limits }),
      'too-large',
    );
    assert.match(streamed.message, /passed the limit of 1048576 bytes/);
    const answer = await callAt('/big');
    assert.equal(answer.result?.string('LastChange').length, 2 * 1024 * 1024);
  });

  it('times out on a slow server, before the headers or in the body', async () => {
    for (const path of ['/slow-headers', '/slow-body']) {
      const error = await failure(callAt(path, { timeoutMs: 200 }), 'timeout');
      assert.match(error.message, /no complete answer within 200 ms/);
    }
  });

  it('reports the caller aborting', async () => {
    const controller = new AbortController();
    const pending = callAt('/slow-headers', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await failure(pending, 'aborted');
  });

  it('reports a refused connection as a network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(call({ url: `http://127.0.0.1:${port}${SYNC_PATH}`, operation: 'GetAuthConfig' }), 'network');
    assert.match(error.message, /ECONNREFUSED/);
  });
});
