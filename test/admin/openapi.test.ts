// The OpenAPI document at /api/v1/openapi.json: a structurally valid 3.1 document whose paths are
// exactly the routes fastify answers under /api/v1 (and every one has its handler).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HANDLERS } from '../../src/admin/handlers/index.ts';
import { ROUTES } from '../../src/admin/openapi.ts';
import { openStore } from '../../src/store/index.ts';
import { apiHarness } from './harness.ts';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Every `$ref` in a document, with where it was found. */
function refs(value: unknown, at = '#'): { ref: string; at: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => refs(v, `${at}/${i}`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => (k === '$ref' ? [{ ref: String(v), at }] : refs(v, `${at}/${k}`)));
}

function resolve(doc: Record<string, unknown>, ref: string): unknown {
  assert.ok(ref.startsWith('#/'), `local reference ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
}

test('the OpenAPI document is a valid 3.1 document describing exactly the routes served', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'openwsus-openapi-'));
  const store = await openStore({ dataDir: dir });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const served: string[] = [];
  const h = await apiHarness(store, {
    onRoute: (route) => {
      for (const method of ([] as string[]).concat(route.method)) if (route.url.startsWith('/api/') && method !== 'HEAD') served.push(`${method} ${route.url}`);
    },
  });
  t.after(() => h.close());

  const res = await h.call(h.anonymous, 'GET', '/api/v1/openapi.json');
  assert.equal(res.statusCode, 200, 'readable without signing in');
  const doc = res.json() as Record<string, any>;

  // The 3.1 shape: required members and their types.
  assert.match(doc.openapi, /^3\.1\.\d+$/);
  assert.equal(typeof doc.info?.title, 'string');
  assert.equal(typeof doc.info?.version, 'string');
  assert.equal(typeof doc.paths, 'object');
  const operationIds = new Set<string>();
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    assert.match(path, /^\/api\/v1\//);
    const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    for (const [method, op] of Object.entries<any>(item)) {
      assert.ok(METHODS.includes(method), `${path}: ${method} is an HTTP method`);
      assert.equal(typeof op.operationId, 'string');
      assert.ok(!operationIds.has(op.operationId), `operationId ${op.operationId} is unique`);
      operationIds.add(op.operationId);
      assert.ok(Object.keys(op.responses).length > 0, `${op.operationId} has responses`);
      for (const [status, response] of Object.entries<any>(op.responses)) {
        assert.match(status, /^[1-5]\d\d$/);
        assert.equal(typeof response.description, 'string', `${op.operationId} ${status} has a description`);
      }
      const pathParams = (op.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name);
      assert.deepEqual(pathParams.sort(), [...templated].sort(), `${op.operationId}: every path template has its parameter`);
      for (const p of op.parameters ?? []) {
        assert.ok(['path', 'query', 'header', 'cookie'].includes(p.in));
        if (p.in === 'path') assert.equal(p.required, true);
        assert.equal(typeof p.schema, 'object');
      }
      if (op.requestBody !== undefined) assert.ok(op.requestBody.content['application/json'].schema, `${op.operationId} body schema`);
      for (const requirement of op.security ?? []) for (const scheme of Object.keys(requirement)) assert.ok(doc.components.securitySchemes[scheme], `scheme ${scheme}`);
      if (op['x-access'] !== 'public') assert.ok(op.responses['401'], `${op.operationId} documents 401`);
      if (op['x-access'] === 'admin') assert.ok(op.responses['403'], `${op.operationId} documents 403`);
    }
  }
  for (const { ref, at } of refs(doc)) assert.notEqual(resolve(doc, ref), undefined, `${at}: ${ref} resolves`);

  // Exactly the routes fastify registered under /api, and each has a handler.
  const documented = Object.entries<Record<string, unknown>>(doc.paths)
    .flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`))
    .sort();
  assert.deepEqual([...new Set(served)].sort(), documented);
  assert.equal(documented.length, ROUTES.length);
  assert.deepEqual(Object.keys(HANDLERS).sort(), ROUTES.map((r) => r.operationId).sort(), 'one handler per route, none extra');
});
