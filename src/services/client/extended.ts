// What a client fetches after a scan (WSUS-PROTOCOLS §4.6): Extended and LocalizedProperties
// fragments with the locations of every file, and file locations by digest.
import type { StoredFile } from '../../domain/catalog-records.ts';
import { scopeEntry } from '../../domain/scan-plan.ts';
import { contentPath } from '../../domain/update.ts';
import { invalidParameter, SoapFault, type SoapHandler, type SoapRequestContext, type SoapXmlBuilder } from '../../soap/index.ts';
import type { ClientContext } from './context.ts';
import { writeNewCookie } from './sync.ts';
import { MAX_IDS_PER_CALL } from './wire.ts';

/** `http(s)://<Host the client used>/Content/XX/SHA1.ext`: the client reaches us the way it already does. */
function contentUrl(request: SoapRequestContext, file: Pick<StoredFile, 'sha1' | 'fileName'>): string {
  return `${request.http.protocol}://${request.http.host}/Content/${contentPath(file)}`;
}

function writeFileLocations(x: SoapXmlBuilder, request: SoapRequestContext, files: readonly StoredFile[]): void {
  x.list('FileLocations', files, (b, f) => b.start('FileLocation').element('FileDigest', Buffer.from(f.sha1, 'base64')).element('Url', contentUrl(request, f)).end());
}

/**
 * Languages to answer for one revision: each requested locale stored as such, else its base
 * language (`en-US` -> `en`); `en` when none of them is stored (MS-WUSP: always return English).
 */
export function pickLanguages(requested: readonly string[], stored: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const locale of requested) {
    const l = locale.trim().toLowerCase();
    const base = l.split('-')[0]!;
    const pick = stored.has(l) ? l : stored.has(base) ? base : undefined;
    if (pick !== undefined && !out.includes(pick)) out.push(pick);
  }
  if (out.length === 0 && stored.has('en')) out.push('en');
  return out;
}

/** Fragments and distinct files of the in-scope revisions asked for: what both GetExtendedUpdateInfo operations answer. */
async function extendedContent(ctx: ClientContext, inScope: readonly number[], types: readonly string[]) {
  const [fragments, cores, files] = await Promise.all([
    ctx.store.scanCatalog.extended(inScope),
    types.includes('Core') ? ctx.store.scanCatalog.cores(inScope) : Promise.resolve(new Map<number, string>()),
    ctx.store.files.ofRevisions(inScope),
  ]);
  const distinct = new Map<string, StoredFile>();
  for (const id of inScope) for (const f of files.get(id) ?? []) if (!distinct.has(f.sha1)) distinct.set(f.sha1, f);
  return { fragments, cores, files: [...distinct.values()] };
}

/** `Updates`: one Update per revision per type asked, in the order of the types. */
function writeUpdates(
  x: SoapXmlBuilder,
  inScope: readonly number[],
  types: readonly string[],
  locales: readonly string[],
  content: Awaited<ReturnType<typeof extendedContent>>,
): void {
  x.start('Updates');
  for (const type of types) {
    for (const id of inScope) {
      const f = content.fragments.get(id);
      if (f === undefined) continue;
      if (type === 'Extended') x.start('Update').element('ID', id).element('Xml', f.extended).end();
      else if (type === 'Core' && content.cores.has(id)) x.start('Update').element('ID', id).element('Xml', content.cores.get(id)!).end();
      else if (type === 'LocalizedProperties') {
        for (const language of pickLanguages(locales, f.localized)) x.start('Update').element('ID', id).element('Xml', f.localized.get(language)!).end();
      }
    }
  }
  x.end();
}

export function getExtendedUpdateInfo(ctx: ClientContext): SoapHandler {
  return async (op, request) => {
    const claims = await ctx.cookies.verify(op);
    const ids = [...new Set(op.ints('revisionIDs'))];
    if (ids.length > MAX_IDS_PER_CALL) throw invalidParameter('revisionIDs', `${ids.length} ids`);
    const types = op.strings('infoTypes').map((t) => t.trim());
    const locales = op.strings('locales');
    const scope = await ctx.scopes.scopeFor(claims.groupIds);
    const inScope = ids.filter((id) => scopeEntry(scope.scope, id) !== undefined);
    const outOfScope = ids.filter((id) => scopeEntry(scope.scope, id) === undefined);
    const content = await extendedContent(ctx, inScope, types);
    return request.result((x) => {
      writeUpdates(x, inScope, types, locales, content);
      if (content.files.length > 0) writeFileLocations(x, request, content.files);
      if (outOfScope.length > 0) x.list('OutOfScopeRevisionIDs', 'int', outOfScope);
    });
  };
}

/**
 * GetExtendedUpdateInfo2 (MS-WUSP 2.2.2.2.10): the same fragments and file locations, asked by
 * UpdateIdentity instead of revision id; the answer's Update/ID is still the revision id.
 * ExtendedUpdateInfo2 has no OutOfScopeRevisionIDs: an identity that is unknown, not the
 * revision this server holds, or not deployed to the client is left out. The decryption data
 * (FileDecryptionData, FileDecryptionData2) is for encrypted files, which no update this server
 * serves has, so it is never sent.
 */
export function getExtendedUpdateInfo2(ctx: ClientContext): SoapHandler {
  return async (op, request) => {
    const claims = await ctx.cookies.verify(op);
    const identities = op.list('updateIDs');
    if (identities.length > MAX_IDS_PER_CALL) throw invalidParameter('updateIDs', `${identities.length} ids`);
    let keys: { updateId: string; revisionNumber: number }[];
    try {
      keys = identities.map((i) => ({ updateId: i.guid('UpdateID'), revisionNumber: i.int('RevisionNumber') }));
    } catch (error) {
      if (error instanceof SoapFault) throw invalidParameter('updateIDs', error.reason ?? error.message);
      throw error;
    }
    const types = op.strings('infoTypes').map((t) => t.trim());
    const locales = op.strings('locales');
    const scope = await ctx.scopes.scopeFor(claims.groupIds);
    const { graph } = scope.scope;
    // The revision the scope holds for each update id: the identity must name exactly it.
    const current = keys.flatMap((k) => {
      const i = graph.byUpdateId.get(k.updateId);
      return i === undefined ? [] : [{ key: k, revisionId: graph.revisionIds[i]! }];
    });
    const held = new Map((await ctx.store.catalog.summaries(current.map((c) => c.revisionId))).map((s) => [s.revisionId, s.key.revisionNumber]));
    const inScope = [
      ...new Set(current.filter((c) => held.get(c.revisionId) === c.key.revisionNumber && scopeEntry(scope.scope, c.revisionId) !== undefined).map((c) => c.revisionId)),
    ];
    const content = await extendedContent(ctx, inScope, types);
    return request.result((x) => {
      writeUpdates(x, inScope, types, locales, content);
      if (content.files.length > 0) writeFileLocations(x, request, content.files);
    });
  };
}

export function getFileLocations(ctx: ClientContext): SoapHandler {
  return async (op, request) => {
    const claims = await ctx.cookies.verify(op);
    const digests = op.base64s('fileDigests');
    if (digests.length > MAX_IDS_PER_CALL) throw invalidParameter('fileDigests', `${digests.length} digests`);
    const wanted = [...new Set(digests.filter((d) => d.length === 20).map((d) => d.toString('base64')))];
    const found = new Map((await ctx.store.files.getMany(wanted)).map((f) => [f.sha1, f]));
    const files = wanted.flatMap((sha1) => found.get(sha1) ?? []);
    const data = await ctx.cookies.seal(claims);
    return request.result((x) => {
      writeFileLocations(x, request, files);
      writeNewCookie(x, { expiration: claims.expiresAt, data });
    });
  };
}
