// Who is calling the administration API and whether they may: console sessions (an HttpOnly,
// SameSite=Strict cookie plus a CSRF token sent back as a header on every change), API tokens
// for scripts (`Authorization: Bearer`), roles (Administrators change, Reporters read), and a
// brake on guessing passwords (a delay per failure, an account lock after repeated failures, a
// cap per client address).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Account } from '../store/account-repository.ts';
import type { Store } from '../store/index.ts';
import { ApiProblem } from './problem.ts';
import type { Access } from './openapi.ts';
import { decoyHash, verifyPassword } from './passwords.ts';

export const SESSION_COOKIE = 'openwsus_session';
/** Readable by the console's script, which echoes it in CSRF_HEADER (double submit, bound to the session). */
export const CSRF_COOKIE = 'openwsus_csrf';
export const CSRF_HEADER = 'x-csrf-token';
export const TOKEN_PREFIX = 'owt_';

export interface Principal {
  readonly account: Account;
  readonly via: 'session' | 'token';
  readonly sessionHash?: string;
  readonly csrfToken?: string;
  readonly expiresAt?: string;
  readonly tokenId?: number;
}

export interface AuthOptions {
  /** Session lifetime (default 12 h). */
  readonly sessionTtlMs?: number;
  /** Failures in a row before an account locks (default 5), and for how long at first (default 30 s, doubling, at most 15 min). */
  readonly lockAfterFailures?: number;
  readonly lockMs?: number;
  /** Wait before answering a failed sign-in (default 250 ms). */
  readonly failureDelayMs?: number;
  /** Failed sign-ins per client address in 10 minutes before it is refused (default 30). */
  readonly failuresPerAddress?: number;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** A new API token: what the caller is shown once, and what is stored. */
export function newApiToken(): { token: string; tokenHash: string; prefix: string } {
  const token = TOKEN_PREFIX + randomToken();
  return { token, tokenHash: sha256(token), prefix: token.slice(0, TOKEN_PREFIX.length + 6) };
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!out.has(name)) {
      try {
        out.set(name, decodeURIComponent(part.slice(eq + 1).trim()));
      } catch {
        // A malformed cookie is no credential.
      }
    }
  }
  return out;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const unauthorized = (detail: string): ApiProblem => new ApiProblem(401, detail, { headers: { 'www-authenticate': 'Bearer realm="openwsus"' } });

export class AccessControl {
  readonly #store: Store;
  readonly #ttlMs: number;
  readonly #lockAfter: number;
  readonly #lockMs: number;
  readonly #delayMs: number;
  readonly #perAddress: number;
  /** Failed sign-ins per client address: [count, window start]. */
  readonly #failures = new Map<string, { count: number; since: number }>();

  constructor(store: Store, options: AuthOptions = {}) {
    this.#store = store;
    this.#ttlMs = options.sessionTtlMs ?? 12 * 3600_000;
    this.#lockAfter = options.lockAfterFailures ?? 5;
    this.#lockMs = options.lockMs ?? 30_000;
    this.#delayMs = options.failureDelayMs ?? 250;
    this.#perAddress = options.failuresPerAddress ?? 30;
  }

  /** The caller, from a bearer token or the session cookie; a credential that is present and wrong is a 401. */
  async authenticate(request: FastifyRequest): Promise<Principal | undefined> {
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (m === null) throw unauthorized('the Authorization header must be "Bearer <token>"');
      const used = await this.#store.accounts.useToken(sha256(m[1]!));
      if (used === undefined) throw unauthorized('the API token is unknown, revoked or expired');
      return { account: used.account, via: 'token', tokenId: used.token.id, ...(used.token.expiresAt !== undefined && { expiresAt: used.token.expiresAt }) };
    }
    const sessionId = parseCookies(request.headers.cookie).get(SESSION_COOKIE);
    if (sessionId === undefined || sessionId === '') return undefined;
    const hash = sha256(sessionId);
    const session = await this.#store.accounts.session(hash);
    if (session === undefined) return undefined;
    return { account: session.account, via: 'session', sessionHash: hash, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
  }

  /** Refuses what `access` does not allow the caller, and a session's change without its CSRF token. */
  authorize(access: Access, principal: Principal | undefined, request: FastifyRequest): void {
    if (access === 'public') return;
    if (principal === undefined) throw unauthorized('sign in (POST /api/v1/session) or send an API token as "Authorization: Bearer <token>"');
    if (principal.via === 'session' && !SAFE_METHODS.has(request.method)) {
      const header = request.headers[CSRF_HEADER];
      const sent = Array.isArray(header) ? header[0] : header;
      if (sent === undefined || principal.csrfToken === undefined || !sameText(sent, principal.csrfToken)) {
        throw new ApiProblem(403, `a change made with the session cookie needs the ${CSRF_HEADER} header carrying the session's CSRF token`);
      }
    }
    if (access === 'admin' && principal.account.role !== 'Administrators') {
      throw new ApiProblem(403, `${principal.account.name} is a ${principal.account.role === 'Reporters' ? 'Reporter' : principal.account.role}: only Administrators may do this`);
    }
  }

  /** Checks a name and password, with the brakes on guessing; a new session on success. */
  async login(name: string, password: string, address: string): Promise<{ sessionId: string; csrfToken: string; account: Account; expiresAt: string }> {
    const now = Date.now();
    const window = this.#failures.get(address);
    if (window !== undefined && now - window.since > 600_000) this.#failures.delete(address);
    if ((this.#failures.get(address)?.count ?? 0) >= this.#perAddress) {
      throw new ApiProblem(429, 'too many failed sign-ins from this address: wait 10 minutes', { headers: { 'retry-after': '600' } });
    }
    const credentials = await this.#store.accounts.credentials(name);
    if (credentials?.lockedUntil !== undefined && Date.parse(credentials.lockedUntil) > now) {
      const seconds = Math.ceil((Date.parse(credentials.lockedUntil) - now) / 1000);
      throw new ApiProblem(429, `too many failed sign-ins for this account: try again in ${seconds} s`, { headers: { 'retry-after': String(seconds) } });
    }
    // An unknown name costs the same hash as a known one, so timing does not tell which names exist.
    const ok = await verifyPassword(password, credentials?.passwordHash ?? (await decoyHash()));
    if (!ok || credentials === undefined || credentials.disabled) {
      const entry = this.#failures.get(address) ?? { count: 0, since: now };
      entry.count++;
      this.#failures.set(address, entry);
      if (credentials !== undefined) {
        const failures = credentials.failedLogins + 1;
        const lock = failures >= this.#lockAfter ? Math.min(this.#lockMs * 2 ** (failures - this.#lockAfter), 15 * 60_000) : undefined;
        await this.#store.accounts.loginFailed(credentials.id, lock === undefined ? undefined : new Date(now + lock).toISOString());
      }
      await new Promise((resolve) => setTimeout(resolve, this.#delayMs));
      throw new ApiProblem(401, 'wrong account name or password (or the account is disabled)');
    }
    await this.#store.accounts.loginSucceeded(credentials.id);
    const sessionId = randomToken();
    const csrfToken = randomToken();
    const expiresAt = new Date(now + this.#ttlMs).toISOString();
    await this.#store.accounts.createSession({ sessionHash: sha256(sessionId), accountId: credentials.id, csrfToken, expiresAt });
    // Sessions that ran out are swept now and then, not on every request.
    if (Math.random() < 0.05) await this.#store.accounts.purgeExpiredSessions();
    const { passwordHash: _h, failedLogins: _f, lockedUntil: _l, ...account } = credentials;
    return { sessionId, csrfToken, account, expiresAt };
  }

  setSessionCookies(request: FastifyRequest, reply: FastifyReply, session: { sessionId: string; csrfToken: string; expiresAt: string }): void {
    const maxAge = Math.max(0, Math.floor((Date.parse(session.expiresAt) - Date.now()) / 1000));
    const secure = request.protocol === 'https' ? '; Secure' : '';
    reply.header('set-cookie', [
      `${SESSION_COOKIE}=${session.sessionId}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure}`,
      `${CSRF_COOKIE}=${session.csrfToken}; Path=/; SameSite=Strict; Max-Age=${maxAge}${secure}`,
    ]);
  }

  clearSessionCookies(request: FastifyRequest, reply: FastifyReply): void {
    const secure = request.protocol === 'https' ? '; Secure' : '';
    reply.header('set-cookie', [
      `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure}`,
      `${CSRF_COOKIE}=; Path=/; SameSite=Strict; Max-Age=0${secure}`,
    ]);
  }
}

