// The web console (DESIGN §1 "Administration"): static assets under /admin that talk to the REST
// API with the signed-in session. No build step and no framework: the files are served as they are,
// read once at start, so a console page costs the server nothing but a memory copy.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';

export const CONSOLE_PREFIX = '/admin';

const ASSETS: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'pages.js': 'text/javascript; charset=utf-8',
  'ui.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

// The console's own scripts and styles only: no inline code, no other origin, no framing.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

function loadAssets(): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const [name, type] of Object.entries(ASSETS)) {
    const body = readFileSync(new URL(`./assets/${name}`, import.meta.url));
    out.set(name, { body, type, etag: `"${createHash('sha1').update(body).digest('base64url')}"` });
  }
  return out;
}

export function registerConsole(app: FastifyInstance): void {
  const assets = loadAssets();
  const send = (reply: FastifyReply, asset: Asset, ifNoneMatch: string | undefined): FastifyReply => {
    reply.headers({ ...SECURITY_HEADERS, 'content-type': asset.type, etag: asset.etag, 'cache-control': 'no-cache' });
    if (ifNoneMatch === asset.etag) return reply.code(304).send();
    return reply.send(asset.body);
  };
  // The listener ignores trailing slashes: this answers /admin and /admin/ alike.
  app.get(`${CONSOLE_PREFIX}/`, (request, reply) => send(reply, assets.get('index.html')!, request.headers['if-none-match']));
  app.get<{ Params: { name: string } }>(`${CONSOLE_PREFIX}/assets/:name`, (request, reply) => {
    const asset = assets.get(request.params.name);
    if (asset === undefined) {
      return reply
        .code(404)
        .type('application/problem+json')
        .send({ type: 'about:blank', title: 'Not Found', status: 404, detail: `the console has no asset ${JSON.stringify(request.params.name)}` });
    }
    return send(reply, asset, request.headers['if-none-match']);
  });
}
