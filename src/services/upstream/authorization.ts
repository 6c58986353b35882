// The handshake (WSUS-PROTOCOLS §2.3): GetAuthConfig names the DssTargeting plug-in, DssAuth's
// GetAuthorizationCookie admits the downstream server and hands it an authorization cookie, and
// GetCookie trades that for the cookie every later call carries.
import { checkProtocolVersion } from '../../domain/cookie.ts';
import { isValidAccountName } from '../../domain/downstream.ts';
import { parseBase64, parseGuid, SoapFault, invalidParameter, type SoapHandler } from '../../soap/index.ts';
import { admitContact } from './admission.ts';
import type { UpstreamContext } from './context.ts';
import { DSS_AUTH_SERVICE_URL, DSS_PLUGIN_ID, readOptionalText } from './wire.ts';

export function getAuthConfig(ctx: UpstreamContext): SoapHandler {
  return async (_op, request) => {
    const lastChange = await ctx.cookies.lastChange();
    return request.result((x) =>
      x
        .element('LastChange', lastChange)
        .start('AuthInfo')
        .start('AuthPlugInInfo')
        .element('PlugInID', DSS_PLUGIN_ID)
        .element('ServiceUrl', DSS_AUTH_SERVICE_URL)
        .element('Parameter', '')
        .end()
        .end(),
    );
  };
}

export function getAuthorizationCookie(ctx: UpstreamContext): SoapHandler {
  return async (op, request) => {
    const accountName = readOptionalText(op, 'accountName')?.trim();
    if (accountName === undefined || !isValidAccountName(accountName)) throw invalidParameter('accountName', 'not an FQDN');
    const accountGuid = parseGuid(readOptionalText(op, 'accountGuid') ?? '');
    if (accountGuid === undefined) throw invalidParameter('accountGuid', 'not a GUID');
    const config = await ctx.config(request.log);
    await admitContact(ctx, config, { id: accountGuid, accountName }, request.log);
    const cookie = await ctx.cookies.issue({
      kind: 'authorization',
      downstreamId: accountGuid,
      targetGroups: [],
      expiresAt: new Date(ctx.now().getTime() + config.cookieLifetimeMinutes * 60_000),
      protocolVersion: '',
    });
    return request.result((x) => x.element('PlugInId', DSS_PLUGIN_ID).element('CookieData', cookie.data));
  };
}

export function getCookie(ctx: UpstreamContext): SoapHandler {
  return async (op, request) => {
    const authCookies = op.child('authCookies')?.items() ?? [];
    if (authCookies.length !== 1) throw invalidParameter('authCookies', `${authCookies.length} authorization cookies, exactly one expected`);
    const auth = authCookies[0]!;
    const badAuthorization = (reason: string) => new SoapFault('InvalidAuthorizationCookie', '', { reason });
    let plugIn: string | undefined;
    let data: Buffer | undefined;
    try {
      plugIn = auth.child('PlugInId')?.asString();
      const text = auth.child('CookieData')?.asString();
      data = text === undefined ? undefined : parseBase64(text);
    } catch {
      throw badAuthorization('the authorization cookie is not readable');
    }
    if (plugIn !== undefined && plugIn !== DSS_PLUGIN_ID) throw badAuthorization(`plug-in ${plugIn} is not ${DSS_PLUGIN_ID}`);
    if (data === undefined || data.length === 0) throw badAuthorization('no cookie data');
    const verdict = await ctx.cookies.judge(data, 'authorization');
    if (!verdict.ok) throw badAuthorization(`the authorization cookie is ${verdict.problem}`);

    const protocolVersion = (readOptionalText(op, 'protocolVersion') ?? '').trim();
    const version = checkProtocolVersion(protocolVersion);
    if (version === 'malformed') throw invalidParameter('protocolVersion', `${JSON.stringify(protocolVersion)} is not x.y`);
    if (version === 'incompatible') throw new SoapFault('IncompatibleProtocolVersion', '', { reason: `protocol version ${protocolVersion}` });

    const config = await ctx.config(request.log);
    // Checked again here: the server may have been removed, or the allow-list changed, since it
    // got its authorization cookie.
    const downstream = await admitContact(ctx, config, { id: verdict.claims.downstreamId, protocolVersion }, request.log);
    const lifetimeEnd = ctx.now().getTime() + config.cookieLifetimeMinutes * 60_000;
    const cookie = await ctx.cookies.issue({
      kind: 'server',
      downstreamId: downstream.id,
      targetGroups: verdict.claims.targetGroups,
      // Windows: 240 minutes, or the authorization cookie's expiry if that comes first.
      expiresAt: new Date(Math.min(lifetimeEnd, verdict.claims.expiresAt.getTime())),
      protocolVersion,
    });
    return request.result((x) => x.element('Expiration', cookie.expiration).element('EncryptedData', cookie.data));
  };
}
