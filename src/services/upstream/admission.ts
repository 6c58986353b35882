// Letting a downstream server in (or keeping it out): the rule is domain/downstream.ts; this
// records the contact, and tells the administrator (a warning and a task) about a refusal.
import type { FastifyBaseLogger } from 'fastify';
import { admitDownstream, type DownstreamServer } from '../../domain/downstream.ts';
import type { UpstreamConfig } from '../../domain/upstream-config.ts';
import { SoapFault } from '../../soap/index.ts';
import type { UpstreamContext } from './context.ts';

export const TASK_DOWNSTREAM_LIMIT = 'upstream.downstream-limit';
export const TASK_DOWNSTREAM_NOT_ALLOWED = 'upstream.downstream-not-allowed';

export interface ContactInfo {
  readonly id: string;
  /** Known at GetAuthorizationCookie; GetCookie only knows the id. */
  readonly accountName?: string;
  readonly protocolVersion?: string;
}

/**
 * Records a contact of a downstream server: a known one is updated, an unknown one is registered
 * when the policy admits it. A refused server gets a fault whose Message says why in plain words.
 */
export async function admitContact(
  ctx: UpstreamContext,
  config: UpstreamConfig,
  contact: ContactInfo,
  log: FastifyBaseLogger,
): Promise<DownstreamServer> {
  const store = ctx.store;
  const at = ctx.now().toISOString();
  const policy = { maxDownstreamServers: config.maxDownstreamServers, allowedIds: config.allowedDownstreamServers };
  const known = await store.downstreams.get(contact.id);
  const name = contact.accountName ?? known?.accountName ?? contact.id;
  const verdict = admitDownstream(contact.id, known !== undefined, known === undefined ? await store.downstreams.count() : 0, policy);
  if (!verdict.admitted) {
    const limit = verdict.reason === 'limit';
    const message = limit
      ? `Downstream server ${name} (${contact.id}) was refused: this server already serves ${config.maxDownstreamServers} downstream servers (setting upstream.maxDownstreamServers).`
      : `Downstream server ${name} (${contact.id}) was refused: it is not in the allow-list (setting upstream.allowedDownstreamServers).`;
    log.warn({ downstream: { id: contact.id, name }, reason: verdict.reason }, message);
    await store.tasks.raise({ kind: limit ? TASK_DOWNSTREAM_LIMIT : TASK_DOWNSTREAM_NOT_ALLOWED, subject: contact.id, message }, at);
    throw new SoapFault(
      'InvalidParameters',
      limit
        ? `openwsus: this upstream server accepts no more downstream servers (limit ${config.maxDownstreamServers}); ask its administrator`
        : 'openwsus: this downstream server is not allowed to synchronize from this upstream server; ask its administrator',
      { reason: message },
    );
  }
  const update = {
    ...(contact.accountName !== undefined && { accountName: contact.accountName }),
    ...(contact.protocolVersion !== undefined && { protocolVersion: contact.protocolVersion }),
  };
  if (known === undefined) {
    const registered = await store.downstreams.register({ id: contact.id, accountName: name }, at);
    if (registered) log.info({ downstream: { id: contact.id, name } }, `downstream server ${name} registered`);
  }
  await store.downstreams.touch(contact.id, update, at);
  return (await store.downstreams.get(contact.id))!;
}
