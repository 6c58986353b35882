// GetUpdateData (WSUS-PROTOCOLS §2.6): the documents of up to MaxNumberOfUpdatesPerRequest
// revisions, small ones as escaped text and big ones as a cabinet, with where their files are.
// Wire order of ServerSyncUpdateData is Id, XmlUpdateBlob, FileDigestList, XmlUpdateBlobCompressed;
// FileDigestList is left out for a revision without files, as the real WSUS does.
import type { StoredFile } from '../../domain/catalog-records.ts';
import { contentPath, revisionKeyString, type RevisionKey } from '../../domain/update.ts';
import { sendsCompressedBlob, UPSTREAM_LIMITS } from '../../domain/upstream-config.ts';
import { encodeUpdateBlob } from '../../metadata/cab/index.ts';
import { SoapFault, type SoapBody, type SoapHandler, type SoapRequestContext } from '../../soap/index.ts';
import type { UpstreamContext } from './context.ts';
import { readList, readRevisionKey, writeUpdateIdentity } from './wire.ts';

/** `http(s)://<Host of the request>` : the address the downstream server reached us at. */
function originOf(request: SoapRequestContext): string {
  return `${request.http.protocol}://${request.http.host}`;
}

export function getUpdateData(ctx: UpstreamContext): SoapHandler {
  return async (op, request) => {
    await ctx.cookies.verify(op);
    const keys = readList(op, 'updateIds', UPSTREAM_LIMITS.maxNumberOfUpdatesPerRequest, readRevisionKey);
    // A few batches at a time: each holds its documents and its answer until it is written.
    return ctx.updateBatches.run(() => updateData(ctx, keys, request));
  };
}

async function updateData(ctx: UpstreamContext, keys: readonly RevisionKey[], request: SoapRequestContext): Promise<SoapBody> {
  const documents = new Map((await ctx.store.catalogGraph.documents(keys)).map((d) => [revisionKeyString(d.key), d]));
  const unknown = keys.filter((k) => !documents.has(revisionKeyString(k)));
  // The real WSUS fails the whole call with InternalServerError for one unknown revision (000017).
  if (unknown.length > 0) {
    throw new SoapFault('InternalServerError', '', { reason: `unknown revisions ${unknown.map(revisionKeyString).join(', ')}` });
  }
  const files = await ctx.store.files.ofRevisions([...new Set([...documents.values()].map((d) => d.revisionId))]);
  const origin = originOf(request);
  const urls = new Map<string, StoredFile>();
  return request.result((x) => {
    x.list('updates', keys, (b, key: RevisionKey) => {
      const doc = documents.get(revisionKeyString(key))!;
      const own = files.get(doc.revisionId) ?? [];
      for (const f of own) if (!urls.has(f.sha1)) urls.set(f.sha1, f);
      b.start('ServerSyncUpdateData');
      writeUpdateIdentity(b, 'Id', key);
      const compressed = sendsCompressedBlob(doc.xml);
      if (!compressed) b.element('XmlUpdateBlob', doc.xml);
      if (own.length > 0) b.list('FileDigestList', 'base64Binary', own.map((f) => f.sha1));
      if (compressed) b.element('XmlUpdateBlobCompressed', encodeUpdateBlob(doc.xml));
      b.end();
    });
    x.list('fileUrls', urls.values(), (b, f) => {
      const own = `${origin}/Content/${contentPath(f)}`;
      b.start('ServerSyncUrlData').element('FileDigest', f.sha1).element('MUUrl', f.muUrl ?? own).element('UssUrl', own).end();
    });
  });
}
