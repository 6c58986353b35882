// The handshake (WSUS-PROTOCOLS §4.3): GetConfig, SimpleAuth's GetAuthorizationCookie (records the
// client and its groups), GetCookie (the sealed cookie every later call carries), RegisterComputer.
import { randomUUID } from 'node:crypto';
import { targetGroupNames, type ComputerInfo } from '../../domain/computer.ts';
import type { ComputerGroup } from '../../domain/deployment.ts';
import { ALL_COMPUTERS_GROUP_ID, UNASSIGNED_COMPUTERS_GROUP_ID } from '../../domain/wellknown.ts';
import { parseBase64, SoapFault, invalidParameter, type SoapHandler, type SoapNode } from '../../soap/index.ts';
import { CONFIG_PROPERTIES, type ClientContext } from './context.ts';
import { encryptedDataOf } from './cookies.ts';
import { COOKIE_LIFETIME_MS, SIMPLE_AUTH_SERVICE_URL, SIMPLE_TARGETING } from './wire.ts';

export function getConfig(ctx: ClientContext): SoapHandler {
  return async (_op, request) => {
    const lastChange = await ctx.lastChange();
    return request.result((x) => {
      x.element('LastChange', lastChange)
        .element('IsRegistrationRequired', true)
        .start('AuthInfo')
        .start('AuthPlugInInfo')
        .element('PlugInID', SIMPLE_TARGETING)
        .element('ServiceUrl', SIMPLE_AUTH_SERVICE_URL)
        .element('Parameter', '')
        .end()
        .end();
      x.list('Properties', CONFIG_PROPERTIES, (b, [name, value]) => b.start('ConfigurationProperty').element('Name', name).element('Value', value).end());
    });
  };
}

function text(op: SoapNode, name: string): string | undefined {
  try {
    return op.child(name)?.asString();
  } catch {
    throw invalidParameter(name, 'not a simple value');
  }
}

/**
 * The groups a client-side-targeted computer names, created when allowed (never on a replica,
 * whose groups come from its upstream); none found = Unassigned.
 */
async function groupsNamed(ctx: ClientContext, names: readonly string[], create: boolean): Promise<string[]> {
  if (names.length === 0) return [UNASSIGNED_COMPUTERS_GROUP_ID];
  const groups = await ctx.store.groups.list();
  const out: string[] = [];
  const missing: ComputerGroup[] = [];
  for (const name of names) {
    const found = groups.find((g) => g.name.toLowerCase() === name.toLowerCase() && g.id !== ALL_COMPUTERS_GROUP_ID);
    if (found !== undefined) out.push(found.id);
    else if (create) missing.push({ id: randomUUID(), name, parentId: ALL_COMPUTERS_GROUP_ID, builtin: false });
  }
  if (missing.length > 0 && !(await ctx.isReplica())) {
    await ctx.store.groups.upsert(missing);
    // Another front end may have created the same name first: read back what stands.
    const after = await ctx.store.groups.list();
    for (const m of missing) {
      const found = after.find((g) => g.name.toLowerCase() === m.name.toLowerCase() && g.parentId === ALL_COMPUTERS_GROUP_ID);
      if (found !== undefined) out.push(found.id);
    }
  }
  return out.length > 0 ? out : [UNASSIGNED_COMPUTERS_GROUP_ID];
}

export function getAuthorizationCookie(ctx: ClientContext): SoapHandler {
  return async (op, request) => {
    const clientId = op.guid('clientId');
    const dnsName = (text(op, 'dnsName') ?? '').trim();
    if (dnsName === '') throw invalidParameter('dnsName', 'missing');
    const settings = await ctx.settings(request.log);
    const groupIds =
      settings.targetingMode === 'client' ? await groupsNamed(ctx, targetGroupNames(text(op, 'targetGroupName')), settings.createMissingGroups) : undefined;
    await ctx.store.computers.touch({
      id: clientId,
      dnsName,
      ipAddress: request.http.ip,
      defaultGroupId: UNASSIGNED_COMPUTERS_GROUP_ID,
      ...(groupIds !== undefined ? { groupIds } : {}),
    });
    const data = await ctx.cookies.sealAuthorization({ clientId, expiresAt: new Date(ctx.now().getTime() + COOKIE_LIFETIME_MS) });
    return request.result((x) => x.element('PlugInId', SIMPLE_TARGETING).element('CookieData', data));
  };
}

export function getCookie(ctx: ClientContext): SoapHandler {
  return async (op, request) => {
    const authCookies = op.list('authCookies');
    const bad = (reason: string) => new SoapFault('InvalidAuthorizationCookie', '', { reason });
    const ours = authCookies.filter((c) => {
      try {
        return c.child('PlugInId')?.asString() === SIMPLE_TARGETING;
      } catch {
        return false;
      }
    });
    if (ours.length !== 1) throw bad(`${ours.length} ${SIMPLE_TARGETING} authorization cookies, exactly one expected`);
    let data: Buffer | undefined;
    try {
      const t = ours[0]!.child('CookieData')?.asString();
      data = t === undefined ? undefined : parseBase64(t);
    } catch {
      data = undefined;
    }
    if (data === undefined || data.length === 0) throw bad('no cookie data');
    const verdict = await ctx.cookies.judgeAuthorization(data);
    if (!verdict.ok) throw bad(`the authorization cookie is ${verdict.problem}`);

    // The old cookie carries what the client has seen; one sealed elsewhere means another server.
    let watermark = 0;
    let oldGroupIds: readonly string[] | undefined;
    const oldBytes = encryptedDataOf(op.child('oldCookie'));
    if (oldBytes !== undefined) {
      const old = await ctx.cookies.judge(oldBytes, { allowExpired: true });
      if (!old.ok && old.problem === 'other-server') throw new SoapFault('ServerChanged', '', { reason: 'the old cookie was issued by another server' });
      if (old.ok && old.claims.clientId === verdict.claims.clientId) {
        watermark = old.claims.watermark;
        oldGroupIds = old.claims.groupIds;
      }
    }

    const lastChange = await ctx.lastChange();
    const theirs = op.child('lastChange');
    if (theirs !== undefined && theirs.asDateTime().getTime() !== lastChange.getTime()) {
      throw new SoapFault('ConfigChanged', '', { reason: 'the client holds an older configuration' });
    }

    const groupIds = await ctx.store.computers.groupsOf(verdict.claims.clientId);
    // Moved to other groups: every held update may deploy differently now, whatever its change
    // position, so the client re-evaluates them all (ChangedUpdates since 0).
    if (oldGroupIds !== undefined && !sameMembers(oldGroupIds, groupIds)) watermark = 0;
    const expiresAt = new Date(ctx.now().getTime() + COOKIE_LIFETIME_MS);
    const sealed = await ctx.cookies.seal({ clientId: verdict.claims.clientId, groupIds, expiresAt, configVersion: lastChange.getTime(), watermark });
    return request.result((x) => x.element('Expiration', expiresAt).element('EncryptedData', sealed));
  };
}

function optText(node: SoapNode, name: string): string | undefined {
  const v = node.optString(name)?.trim();
  return v === undefined || v === '' ? undefined : v;
}

export function registerComputer(ctx: ClientContext): SoapHandler {
  return async (op, request) => {
    const claims = await ctx.cookies.verify(op);
    const info = op.need('computerInfo');
    const dnsName = optText(info, 'DnsName');
    if (dnsName === undefined) throw invalidParameter('computerInfo.DnsName', 'missing');
    const version = ['Major', 'Minor', 'Build', 'Qfe'].map((p) => info.optInt(`ClientVersion${p}Number`));
    let bios: Date | undefined;
    try {
      bios = info.optDateTime('BiosReleaseDate');
    } catch {
      // Firmware writes what it likes here; a date nobody can read is no reason to refuse the computer.
      bios = undefined;
    }
    const computer: ComputerInfo = {
      dnsName,
      ...defined('osMajor', info.optInt('OSMajorVersion')),
      ...defined('osMinor', info.optInt('OSMinorVersion')),
      ...defined('osBuild', info.optInt('OSBuildNumber')),
      ...defined('osServicePackMajor', info.optInt('OSServicePackMajorNumber')),
      ...defined('osServicePackMinor', info.optInt('OSServicePackMinorNumber')),
      ...defined('osLocale', optText(info, 'OSLocale')),
      ...defined('osDescription', optText(info, 'OSDescription')),
      ...defined('manufacturer', optText(info, 'ComputerManufacturer')),
      ...defined('model', optText(info, 'ComputerModel')),
      ...defined('biosName', optText(info, 'BiosName')),
      ...defined('biosVersion', optText(info, 'BiosVersion')),
      ...defined('biosReleaseDate', bios?.toISOString()),
      ...defined('processorArchitecture', optText(info, 'ProcessorArchitecture')),
      ...defined('clientVersion', version.every((v) => v !== undefined) ? version.join('.') : undefined),
    };
    if (!(await ctx.store.computers.register(claims.clientId, computer, request.http.ip))) {
      // Deleted by an administrator since its cookie was issued: it comes back where new computers go.
      await ctx.store.computers.touch({ id: claims.clientId, dnsName, ipAddress: request.http.ip, defaultGroupId: UNASSIGNED_COMPUTERS_GROUP_ID });
      await ctx.store.computers.register(claims.clientId, computer, request.http.ip);
    }
  };
}

function defined<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a);
  return a.length === b.length && b.every((id) => set.has(id));
}
