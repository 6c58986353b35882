// Accounts and API tokens: shared by the REST API, `openwsus accounts|tokens` (which work on the
// database directly, for bootstrapping) and the first start of a server.
import type { Account, AccountRole, ApiToken } from '../../store/account-repository.ts';
import type { Store } from '../../store/index.ts';
import { newApiToken } from '../auth.ts';
import { generatePassword, hashPassword } from '../passwords.ts';
import { ApiProblem } from '../problem.ts';
import { AccountName, Password } from '../schemas.ts';

export const INITIAL_ADMIN = 'admin';
export const ADMIN_PASSWORD_ENV = 'OPENWSUS_ADMIN_PASSWORD';

function check<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { message: string }[] } } }, value: unknown, field: string, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const message = parsed.error.issues.map((i) => i.message).join('; ');
    throw new ApiProblem(400, `${what}: ${message}`, { errors: [{ field, message }] });
  }
  return parsed.data;
}

export async function createAccount(store: Store, request: { name: string; role: AccountRole; password: string }): Promise<Account> {
  const name = check(AccountName, request.name, 'body.name', 'bad account name');
  const password = check(Password, request.password, 'body.password', 'bad password');
  const created = await store.accounts.create({ name, role: request.role, passwordHash: await hashPassword(password) });
  if (created === undefined) throw new ApiProblem(409, `an account named "${name}" already exists`);
  return created;
}

export async function changeAccount(store: Store, name: string, change: { role?: AccountRole; password?: string; disabled?: boolean }): Promise<Account> {
  const password = change.password === undefined ? undefined : check(Password, change.password, 'body.password', 'bad password');
  const result = await store.accounts.change(name, {
    ...(change.role !== undefined && { role: change.role }),
    ...(password !== undefined && { passwordHash: await hashPassword(password) }),
    ...(change.disabled !== undefined && { disabled: change.disabled }),
  });
  if (result === undefined) throw new ApiProblem(404, `unknown account "${name}"`);
  if (result === 'last-admin') throw new ApiProblem(409, `"${name}" is the last enabled Administrator: make another account an Administrator first`);
  return result;
}

export async function deleteAccount(store: Store, name: string): Promise<void> {
  const result = await store.accounts.delete(name);
  if (result === undefined) throw new ApiProblem(404, `unknown account "${name}"`);
  if (result === 'last-admin') throw new ApiProblem(409, `"${name}" is the last enabled Administrator: make another account an Administrator first`);
}

/** A new API token for `account`: the token text is in the answer only. */
export async function createToken(store: Store, request: { name: string; account: string; createdBy: string; expiresAt?: string }): Promise<ApiToken & { token: string }> {
  const owner = await store.accounts.get(request.account);
  if (owner === undefined) throw new ApiProblem(404, `unknown account "${request.account}"`);
  if (request.expiresAt !== undefined && Date.parse(request.expiresAt) <= Date.now()) {
    throw new ApiProblem(400, 'expiresAt is in the past', { errors: [{ field: 'body.expiresAt', message: 'must be in the future' }] });
  }
  const { token, tokenHash, prefix } = newApiToken();
  const stored = await store.accounts.createToken({
    name: request.name,
    accountId: owner.id,
    tokenHash,
    prefix,
    createdBy: request.createdBy,
    ...(request.expiresAt !== undefined && { expiresAt: new Date(request.expiresAt).toISOString() }),
  });
  return { ...stored, token };
}

export async function revokeToken(store: Store, id: number): Promise<ApiToken> {
  const revoked = await store.accounts.revokeToken(id);
  if (revoked === undefined) throw new ApiProblem(404, `no API token ${id} to revoke (unknown or revoked already)`);
  return revoked;
}

/**
 * On a server's first start (no account yet) creates the administrator `admin` with the password
 * from OPENWSUS_ADMIN_PASSWORD, or a generated one that is returned for printing once.
 */
export async function ensureInitialAdmin(store: Store, env: NodeJS.ProcessEnv = process.env): Promise<{ name: string; generatedPassword?: string } | undefined> {
  if ((await store.accounts.count()) > 0) return undefined;
  const given = env[ADMIN_PASSWORD_ENV];
  const password = given !== undefined && given !== '' ? given : generatePassword();
  if (given !== undefined && given !== '') check(Password, given, ADMIN_PASSWORD_ENV, `${ADMIN_PASSWORD_ENV} is not a usable password`);
  const created = await store.accounts.create({ name: INITIAL_ADMIN, role: 'Administrators', passwordHash: await hashPassword(password) });
  // Another front end of the same database created it meanwhile: its password stands.
  if (created === undefined) return undefined;
  await store.audit.record({ actor: 'openwsus', via: 'startup', action: 'accounts.create', target: INITIAL_ADMIN, detail: { role: 'Administrators', passwordFrom: given ? ADMIN_PASSWORD_ENV : 'generated' } });
  return { name: INITIAL_ADMIN, ...(given ? {} : { generatedPassword: password }) };
}
