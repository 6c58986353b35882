// Sign-in, sessions, accounts, API tokens and the audit log.
import type { Account, ApiToken } from '../../store/account-repository.ts';
import { caller, type Handler } from '../context.ts';
import { openApiDocument } from '../openapi.ts';
import { changeAccount, createAccount, createToken, deleteAccount, revokeToken } from '../operations/accounts.ts';
import { hashPassword, verifyPassword } from '../passwords.ts';
import { ApiProblem } from '../problem.ts';

export function accountView(a: Account) {
  return { name: a.name, role: a.role, disabled: a.disabled, createdAt: a.createdAt, lastLoginAt: a.lastLoginAt ?? null };
}

export function tokenView(t: ApiToken) {
  return {
    id: t.id,
    name: t.name,
    account: t.account,
    prefix: t.prefix,
    createdAt: t.createdAt,
    createdBy: t.createdBy,
    expiresAt: t.expiresAt ?? null,
    lastUsedAt: t.lastUsedAt ?? null,
    revokedAt: t.revokedAt ?? null,
  };
}

export const accessHandlers: Record<string, Handler> = {
  getOpenApi: async () => openApiDocument(),

  login: async (ctx) => {
    const { name, password } = ctx.body as { name: string; password: string };
    let session;
    try {
      session = await ctx.access.login(name, password, ctx.request.ip);
    } catch (error) {
      ctx.request.log.warn({ account: name, address: ctx.request.ip, status: (error as ApiProblem).status }, 'administration sign-in refused');
      throw error;
    }
    ctx.access.setSessionCookies(ctx.request, ctx.reply, session);
    await ctx.store.audit.record({ actor: session.account.name, via: 'session', action: 'session.login', target: session.account.name, detail: { address: ctx.request.ip } });
    return { account: session.account.name, role: session.account.role, via: 'session', csrfToken: session.csrfToken, expiresAt: session.expiresAt };
  },

  getSession: async (ctx) => {
    const p = caller(ctx);
    return { account: p.account.name, role: p.account.role, via: p.via, ...(p.csrfToken !== undefined && { csrfToken: p.csrfToken }), expiresAt: p.expiresAt ?? null };
  },

  logout: async (ctx) => {
    const p = caller(ctx);
    if (p.sessionHash !== undefined) {
      await ctx.store.accounts.endSession(p.sessionHash);
      await ctx.audit('session.logout', p.account.name);
    }
    ctx.access.clearSessionCookies(ctx.request, ctx.reply);
  },

  changeOwnPassword: async (ctx) => {
    const p = caller(ctx);
    const { currentPassword, newPassword } = ctx.body as { currentPassword: string; newPassword: string };
    const credentials = await ctx.store.accounts.credentials(p.account.name);
    if (credentials === undefined || !(await verifyPassword(currentPassword, credentials.passwordHash))) {
      throw new ApiProblem(403, 'the current password is wrong', { errors: [{ field: 'body.currentPassword', message: 'wrong password' }] });
    }
    await ctx.store.accounts.change(p.account.name, { passwordHash: await hashPassword(newPassword) });
    await ctx.audit('accounts.password', p.account.name, { self: true });
    // Every session of the account ended with the old password; this one signs in again.
    ctx.access.clearSessionCookies(ctx.request, ctx.reply);
  },

  listAccounts: async (ctx) => ({ accounts: (await ctx.store.accounts.list()).map(accountView) }),

  createAccount: async (ctx) => {
    const body = ctx.body as { name: string; role: 'Administrators' | 'Reporters'; password: string };
    const account = await createAccount(ctx.store, body);
    await ctx.audit('accounts.create', account.name, { role: account.role });
    return accountView(account);
  },

  getAccount: async (ctx) => {
    const account = await ctx.store.accounts.get(ctx.params.name);
    if (account === undefined) throw new ApiProblem(404, `unknown account "${ctx.params.name}"`);
    return accountView(account);
  },

  changeAccount: async (ctx) => {
    const body = ctx.body as { role?: 'Administrators' | 'Reporters'; password?: string; disabled?: boolean };
    if (Object.keys(body).length === 0) throw new ApiProblem(400, 'nothing to change: give role, password or disabled', { errors: [{ field: 'body', message: 'empty' }] });
    const account = await changeAccount(ctx.store, ctx.params.name, body);
    await ctx.audit('accounts.change', account.name, { ...(body.role !== undefined && { role: body.role }), ...(body.disabled !== undefined && { disabled: body.disabled }), ...(body.password !== undefined && { password: 'changed' }) });
    return accountView(account);
  },

  deleteAccount: async (ctx) => {
    if (caller(ctx).account.name.toLowerCase() === String(ctx.params.name).toLowerCase()) throw new ApiProblem(409, 'an account cannot delete itself: sign in as another Administrator');
    await deleteAccount(ctx.store, ctx.params.name);
    await ctx.audit('accounts.delete', ctx.params.name);
  },

  listTokens: async (ctx) => ({ tokens: (await ctx.store.accounts.listTokens()).map(tokenView) }),

  createToken: async (ctx) => {
    const p = caller(ctx);
    const body = ctx.body as { name: string; account?: string; expiresAt?: string };
    const created = await createToken(ctx.store, { name: body.name, account: body.account ?? p.account.name, createdBy: p.account.name, ...(body.expiresAt !== undefined && { expiresAt: body.expiresAt }) });
    await ctx.audit('tokens.create', `${created.id}`, { name: created.name, account: created.account, prefix: created.prefix, expiresAt: created.expiresAt ?? null });
    return { ...tokenView(created), token: created.token };
  },

  revokeToken: async (ctx) => {
    const revoked = await revokeToken(ctx.store, ctx.params.tokenId);
    await ctx.audit('tokens.revoke', `${revoked.id}`, { name: revoked.name, account: revoked.account });
  },

  listAudit: async (ctx) => {
    const q = ctx.query as { limit: number; before?: number; actor?: string; action?: string };
    return { events: (await ctx.store.audit.list(q)).map((e) => ({ ...e, target: e.target ?? null })) };
  },
};

