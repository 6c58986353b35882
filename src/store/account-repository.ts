// Administration access (migration 0009): local accounts, console sessions, API tokens and the
// audit log. Secrets arrive here already hashed (admin/passwords.ts, admin/auth.ts); this module
// only keeps and finds them.
import type { ColumnType, Generated, Kysely, Selectable } from 'kysely';
import type { Database } from './schema.ts';
import { atomically, nowIso, type StoreContext } from './sql-util.ts';

type Bool = ColumnType<boolean | number, boolean, boolean>;

export interface AccountTable {
  account_id: Generated<number>;
  name: string;
  name_key: string;
  role: string;
  password_hash: string;
  disabled: Bool;
  failed_logins: number;
  locked_until: string | null;
  last_login_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface AccountSessionTable {
  session_hash: string;
  account_id: number;
  csrf_token: string;
  created_at: string;
  expires_at: string;
  last_seen_at: string;
}

export interface ApiTokenTable {
  token_id: Generated<number>;
  name: string;
  account_id: number;
  token_hash: string;
  prefix: string;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface AuditEventTable {
  event_id: Generated<number>;
  at: string;
  actor: string;
  via: string;
  action: string;
  target: string | null;
  detail: string;
}

type AccessTables = {
  account: AccountTable;
  account_session: AccountSessionTable;
  api_token: ApiTokenTable;
  audit_event: AuditEventTable;
};

type AccessDb = Kysely<Database & AccessTables>;

function accessDb(ctx: StoreContext): AccessDb {
  return ctx.db.withTables<AccessTables>() as unknown as AccessDb;
}

export type AccountRole = 'Administrators' | 'Reporters';

export interface Account {
  readonly id: number;
  readonly name: string;
  readonly role: AccountRole;
  readonly disabled: boolean;
  readonly createdAt: string;
  readonly lastLoginAt?: string;
}

/** An account with what signing in needs. */
export interface AccountCredentials extends Account {
  readonly passwordHash: string;
  readonly failedLogins: number;
  readonly lockedUntil?: string;
}

export interface AccountSession {
  readonly account: Account;
  readonly csrfToken: string;
  readonly expiresAt: string;
}

export interface ApiToken {
  readonly id: number;
  readonly name: string;
  readonly account: string;
  readonly prefix: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly expiresAt?: string;
  readonly lastUsedAt?: string;
  readonly revokedAt?: string;
}

export interface AuditEvent {
  readonly id: number;
  readonly at: string;
  readonly actor: string;
  /** `session`, `token` or `cli`. */
  readonly via: string;
  /** Dotted verb: `updates.approve`, `settings.set`, `accounts.create`. */
  readonly action: string;
  readonly target?: string;
  readonly detail: unknown;
}

export type NewAuditEvent = Omit<AuditEvent, 'id' | 'at'> & { readonly at?: string };

/** Account names compare without regard to case. */
export function accountKey(name: string): string {
  return name.trim().toLowerCase();
}

function toAccount(r: Selectable<AccountTable>): Account {
  return {
    id: Number(r.account_id),
    name: r.name,
    role: r.role as AccountRole,
    disabled: Boolean(r.disabled),
    createdAt: r.created_at,
    ...(r.last_login_at !== null && { lastLoginAt: r.last_login_at }),
  };
}

function toCredentials(r: Selectable<AccountTable>): AccountCredentials {
  return {
    ...toAccount(r),
    passwordHash: r.password_hash,
    failedLogins: Number(r.failed_logins),
    ...(r.locked_until !== null && { lockedUntil: r.locked_until }),
  };
}

export class AccountRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  get #db(): AccessDb {
    return accessDb(this.#ctx);
  }

  /** Creates an account; undefined when the name (in any case) is taken. */
  async create(account: { name: string; role: AccountRole; passwordHash: string }, at = nowIso()): Promise<Account | undefined> {
    const row = await this.#db
      .insertInto('account')
      .values({
        name: account.name.trim(),
        name_key: accountKey(account.name),
        role: account.role,
        password_hash: account.passwordHash,
        disabled: false,
        failed_logins: 0,
        locked_until: null,
        last_login_at: null,
        created_at: at,
        updated_at: at,
      })
      .onConflict((oc) => oc.column('name_key').doNothing())
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : toAccount(row);
  }

  async list(): Promise<Account[]> {
    return (await this.#db.selectFrom('account').selectAll().orderBy('name_key').execute()).map(toAccount);
  }

  async count(): Promise<number> {
    const row = await this.#db.selectFrom('account').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async get(name: string): Promise<Account | undefined> {
    const row = await this.#db.selectFrom('account').selectAll().where('name_key', '=', accountKey(name)).executeTakeFirst();
    return row === undefined ? undefined : toAccount(row);
  }

  async credentials(name: string): Promise<AccountCredentials | undefined> {
    const row = await this.#db.selectFrom('account').selectAll().where('name_key', '=', accountKey(name)).executeTakeFirst();
    return row === undefined ? undefined : toCredentials(row);
  }

  /**
   * Changes role, password or disabled state. Refuses (`last-admin`) a change that would leave no
   * enabled Administrator; undefined for an unknown account.
   */
  async change(name: string, change: { role?: AccountRole; passwordHash?: string; disabled?: boolean }, at = nowIso()): Promise<Account | 'last-admin' | undefined> {
    return atomically(this.#ctx.db, async (tx) => {
      const db = accessDb({ db: tx, dialect: this.#ctx.dialect });
      const row = await db.selectFrom('account').selectAll().where('name_key', '=', accountKey(name)).executeTakeFirst();
      if (row === undefined) return undefined;
      const losesAdmin = row.role === 'Administrators' && !row.disabled && ((change.role !== undefined && change.role !== 'Administrators') || change.disabled === true);
      if (losesAdmin && (await this.#enabledAdmins(db)) <= 1) return 'last-admin';
      const updated = await db
        .updateTable('account')
        .set({
          ...(change.role !== undefined && { role: change.role }),
          ...(change.passwordHash !== undefined && { password_hash: change.passwordHash, failed_logins: 0, locked_until: null }),
          ...(change.disabled !== undefined && { disabled: change.disabled }),
          updated_at: at,
        })
        .where('account_id', '=', row.account_id)
        .returningAll()
        .executeTakeFirstOrThrow();
      // A new password or a disabled account ends what the old credentials opened.
      if (change.passwordHash !== undefined || change.disabled === true) {
        await db.deleteFrom('account_session').where('account_id', '=', row.account_id).execute();
      }
      return toAccount(updated);
    });
  }

  /** Deletes an account with its sessions and tokens; refuses to delete the last enabled Administrator. */
  async delete(name: string): Promise<'deleted' | 'last-admin' | undefined> {
    return atomically(this.#ctx.db, async (tx) => {
      const db = accessDb({ db: tx, dialect: this.#ctx.dialect });
      const row = await db.selectFrom('account').selectAll().where('name_key', '=', accountKey(name)).executeTakeFirst();
      if (row === undefined) return undefined;
      if (row.role === 'Administrators' && !row.disabled && (await this.#enabledAdmins(db)) <= 1) return 'last-admin';
      await db.deleteFrom('account_session').where('account_id', '=', row.account_id).execute();
      await db.deleteFrom('api_token').where('account_id', '=', row.account_id).execute();
      await db.deleteFrom('account').where('account_id', '=', row.account_id).execute();
      return 'deleted';
    });
  }

  async #enabledAdmins(db: AccessDb): Promise<number> {
    const row = await db
      .selectFrom('account')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('role', '=', 'Administrators')
      .where('disabled', '=', false)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** A failed sign-in: counts it and locks the account until `lockedUntil` when given. */
  async loginFailed(id: number, lockedUntil: string | undefined): Promise<void> {
    await this.#db
      .updateTable('account')
      .set((eb) => ({ failed_logins: eb('failed_logins', '+', 1), ...(lockedUntil !== undefined && { locked_until: lockedUntil }) }))
      .where('account_id', '=', id)
      .execute();
  }

  async loginSucceeded(id: number, at = nowIso()): Promise<void> {
    await this.#db.updateTable('account').set({ failed_logins: 0, locked_until: null, last_login_at: at }).where('account_id', '=', id).execute();
  }

  // ---- sessions ----

  async createSession(session: { sessionHash: string; accountId: number; csrfToken: string; expiresAt: string }, at = nowIso()): Promise<void> {
    await this.#db
      .insertInto('account_session')
      .values({ session_hash: session.sessionHash, account_id: session.accountId, csrf_token: session.csrfToken, created_at: at, expires_at: session.expiresAt, last_seen_at: at })
      .execute();
  }

  /** The live session with this hash (not expired, account enabled). */
  async session(sessionHash: string, now = nowIso()): Promise<AccountSession | undefined> {
    const row = await this.#db
      .selectFrom('account_session as s')
      .innerJoin('account as a', 'a.account_id', 's.account_id')
      .selectAll('a')
      .select(['s.csrf_token', 's.expires_at'])
      .where('s.session_hash', '=', sessionHash)
      .where('s.expires_at', '>', now)
      .where('a.disabled', '=', false)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    return { account: toAccount(row), csrfToken: row.csrf_token, expiresAt: row.expires_at };
  }

  async endSession(sessionHash: string): Promise<void> {
    await this.#db.deleteFrom('account_session').where('session_hash', '=', sessionHash).execute();
  }

  /** Ends an account's sessions, but `keep` (the one changing its password). */
  async endSessionsOf(accountId: number, keep?: string): Promise<void> {
    let query = this.#db.deleteFrom('account_session').where('account_id', '=', accountId);
    if (keep !== undefined) query = query.where('session_hash', '!=', keep);
    await query.execute();
  }

  async purgeExpiredSessions(now = nowIso()): Promise<number> {
    const result = await this.#db.deleteFrom('account_session').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  // ---- API tokens ----

  async createToken(token: { name: string; accountId: number; tokenHash: string; prefix: string; createdBy: string; expiresAt?: string }, at = nowIso()): Promise<ApiToken> {
    const row = await this.#db
      .insertInto('api_token')
      .values({
        name: token.name,
        account_id: token.accountId,
        token_hash: token.tokenHash,
        prefix: token.prefix,
        created_by: token.createdBy,
        created_at: at,
        expires_at: token.expiresAt ?? null,
        last_used_at: null,
        revoked_at: null,
      })
      .returning('token_id')
      .executeTakeFirstOrThrow();
    return (await this.#tokens(Number(row.token_id)))[0]!;
  }

  async listTokens(): Promise<ApiToken[]> {
    return this.#tokens();
  }

  async #tokens(id?: number): Promise<ApiToken[]> {
    let query = this.#db.selectFrom('api_token as t').innerJoin('account as a', 'a.account_id', 't.account_id').selectAll('t').select('a.name as account_name').orderBy('t.token_id');
    if (id !== undefined) query = query.where('t.token_id', '=', id);
    return (await query.execute()).map((r) => ({
      id: Number(r.token_id),
      name: r.name,
      account: r.account_name,
      prefix: r.prefix,
      createdBy: r.created_by,
      createdAt: r.created_at,
      ...(r.expires_at !== null && { expiresAt: r.expires_at }),
      ...(r.last_used_at !== null && { lastUsedAt: r.last_used_at }),
      ...(r.revoked_at !== null && { revokedAt: r.revoked_at }),
    }));
  }

  /** The account a live token (not revoked, not expired, account enabled) acts as; marks it used. */
  async useToken(tokenHash: string, now = nowIso()): Promise<{ account: Account; token: ApiToken } | undefined> {
    const row = await this.#db
      .selectFrom('api_token as t')
      .innerJoin('account as a', 'a.account_id', 't.account_id')
      .selectAll('a')
      .select(['t.token_id', 't.expires_at', 't.last_used_at'])
      .where('t.token_hash', '=', tokenHash)
      .where('t.revoked_at', 'is', null)
      .where('a.disabled', '=', false)
      .executeTakeFirst();
    if (row === undefined || (row.expires_at !== null && row.expires_at <= now)) return undefined;
    // One write a minute at most: a script polling every second should not write every second.
    if (row.last_used_at === null || Date.parse(now) - Date.parse(row.last_used_at) > 60_000) {
      await this.#db.updateTable('api_token').set({ last_used_at: now }).where('token_id', '=', row.token_id).execute();
    }
    const token = (await this.#tokens(Number(row.token_id)))[0]!;
    return { account: toAccount(row), token };
  }

  /** Revokes a token; false when there is no such token or it was revoked already. */
  async revokeToken(id: number, at = nowIso()): Promise<ApiToken | undefined> {
    const result = await this.#db.updateTable('api_token').set({ revoked_at: at }).where('token_id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return undefined;
    return (await this.#tokens(id))[0];
  }

  async getToken(id: number): Promise<ApiToken | undefined> {
    return (await this.#tokens(id))[0];
  }
}

export class AuditRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  async record(event: NewAuditEvent): Promise<void> {
    await accessDb(this.#ctx)
      .insertInto('audit_event')
      .values({
        at: event.at ?? nowIso(),
        actor: event.actor,
        via: event.via,
        action: event.action,
        target: event.target ?? null,
        detail: JSON.stringify(event.detail ?? null),
      })
      .execute();
  }

  /** Newest first; `before` pages back by id. Filters compare verbatim (actor without regard to case). */
  async list(options: { limit?: number; before?: number; actor?: string; action?: string } = {}): Promise<AuditEvent[]> {
    let query = accessDb(this.#ctx).selectFrom('audit_event').selectAll().orderBy('event_id', 'desc').limit(options.limit ?? 100);
    if (options.before !== undefined) query = query.where('event_id', '<', options.before);
    if (options.actor !== undefined) query = query.where((eb) => eb(eb.fn('lower', ['actor']), '=', options.actor!.toLowerCase()));
    if (options.action !== undefined) query = query.where('action', '=', options.action);
    return (await query.execute()).map((r) => ({
      id: Number(r.event_id),
      at: r.at,
      actor: r.actor,
      via: r.via,
      action: r.action,
      ...(r.target !== null && { target: r.target }),
      detail: JSON.parse(r.detail) as unknown,
    }));
  }
}
