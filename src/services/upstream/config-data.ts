// GetConfigData (WSUS-PROTOCOLS §2.4): how downstream servers should synchronize from this one.
// Element order is the one a real WSUS wrote (capture wsus-m0-wsusss 000005), Max* ints included.
import { changesSincePosition, formatAnchor, readAnchorParameter } from '../../domain/anchor.ts';
import { languageUpdateList, UPSTREAM_LIMITS, UPSTREAM_PROTOCOL_VERSION } from '../../domain/upstream-config.ts';
import { invalidParameter, type SoapHandler } from '../../soap/index.ts';
import type { UpstreamContext } from './context.ts';
import { readOptionalText } from './wire.ts';

export function getConfigData(ctx: UpstreamContext): SoapHandler {
  return async (op, request) => {
    await ctx.cookies.verify(op);
    const parameter = readAnchorParameter(readOptionalText(op, 'configAnchor'));
    if (parameter.kind === 'invalid') throw invalidParameter('configAnchor', 'not an anchor this server issued');
    const config = await ctx.config(request.log);
    const languages = await ctx.languages();
    const configPosition = await ctx.configPosition(config, languages);
    const current = await ctx.store.changes.current();
    const since = changesSincePosition(parameter.kind === 'anchor' ? parameter.anchor : undefined, current);
    // With a config anchor at or past the last change, the real WSUS sends an empty list (000004).
    const upToDate = since !== undefined && since >= configPosition;
    const L = UPSTREAM_LIMITS;
    return request.result((x) => {
      x.element('CatalogOnlySync', config.catalogOnlySync)
        .element('LazySync', config.lazySync)
        .element('ServerHostsPsfFiles', config.serverHostsPsfFiles)
        .element('MaxNumberOfComputerIdsInRequest', L.maxNumberOfComputerIdsInRequest)
        .element('MaxNumberOfDriverSetsPerRequest', L.maxNumberOfDriverSetsPerRequest)
        .element('MaxNumberOfPnpHardwareIdsInRequest', L.maxNumberOfPnpHardwareIdsInRequest)
        .element('MaxNumberOfUpdatesPerRequest', L.maxNumberOfUpdatesPerRequest)
        .element('NewConfigAnchor', formatAnchor(Math.max(current, configPosition), ctx.now()))
        .element('ProtocolVersion', UPSTREAM_PROTOCOL_VERSION)
        .list('LanguageUpdateList', upToDate ? [] : languageUpdateList(languages), (b, l) =>
          b
            .start('ServerSyncLanguageData')
            .element('LanguageID', l.id)
            .element('ShortLanguage', l.shortName)
            .element('LongLanguage', l.longName)
            .element('Enabled', l.enabled)
            .end(),
        )
        .element('MaxUpdatesPerRequestInGetUpdateDecryptionData', L.maxUpdatesPerRequestInGetUpdateDecryptionData);
    });
  };
}
