// The content side of server sync: DownloadFiles (WSUS-PROTOCOLS §2.7: a downstream asks us to
// fetch files it could not get from us) and GetUpdateDecryptionData (no file this server holds is
// encrypted, so there are never keys to give).
import { UPSTREAM_LIMITS } from '../../domain/upstream-config.ts';
import { SoapFault, type SoapHandler } from '../../soap/index.ts';
import type { UpstreamContext } from './context.ts';
import { readList, readRevisionKey } from './wire.ts';

const SHA1_BYTES = 20;

export function downloadFiles(ctx: UpstreamContext): SoapHandler {
  return async (op) => {
    await ctx.cookies.verify(op);
    const digests = readList(op, 'fileDigestList', UPSTREAM_LIMITS.maxDigestsPerDownloadFiles, (item) => {
      const digest = item.asBase64();
      if (digest.length !== SHA1_BYTES) throw item.invalid(`a digest of ${digest.length} bytes is not a SHA-1`);
      return digest.toString('base64');
    });
    const requested = [...new Set(digests)];
    const known = new Set((await ctx.store.files.getMany(requested)).map((f) => f.sha1));
    // Known files are queued even when others are missing: the downstream gets what can be had.
    // Into the download queue as asked-for, so this server fetches them from its own upstream
    // whatever its approvals say (sync/content-downloader.ts); present ones need nothing.
    await ctx.store.contentQueue.enqueue([...known], { requested: true });
    const missing = requested.filter((d) => !known.has(d));
    if (missing.length > 0) {
      throw new SoapFault('FileDigestsMissing', missing.join('|'), { reason: `${missing.length} of ${requested.length} digests name no file of this server` });
    }
  };
}

export function getUpdateDecryptionData(ctx: UpstreamContext): SoapHandler {
  return async (op, request) => {
    await ctx.cookies.verify(op);
    readList(op, 'updateIds', UPSTREAM_LIMITS.maxUpdatesPerRequestInGetUpdateDecryptionData, readRevisionKey);
    return request.result((x) => x.list('UpdateFileDecryptionData', [], () => {}));
  };
}
