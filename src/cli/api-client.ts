// The administration API as the CLI uses it with `--server URL` (+ `--token` / OPENWSUS_TOKEN):
// requests with the bearer token, problem documents turned into messages that say what to fix.
import type { Command } from 'commander';
import { CliError } from './context.ts';

export const SERVER_ENV = 'OPENWSUS_SERVER';
export const TOKEN_ENV = 'OPENWSUS_TOKEN';

export class ApiClient {
  readonly base: string;
  readonly #token: string;

  constructor(server: string, token: string) {
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw new CliError(`--server must be a URL such as http://wsus1:8530, got "${server}"`, 2);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--server must be an http:// or https:// URL, got "${server}"`, 2);
    this.base = url.origin;
    this.#token = token;
  }

  /** `path` under /api/v1; answers the parsed JSON (undefined for 204). */
  async request<T = any>(method: string, path: string, body?: unknown, query?: Record<string, string | number | boolean | undefined>): Promise<T> {
    const url = new URL(`/api/v1${path}`, this.base);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.#token}`, accept: 'application/json', ...(body !== undefined && { 'content-type': 'application/json' }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(`cannot reach ${this.base}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    if (!res.ok) {
      let detail = text;
      try {
        const problem = JSON.parse(text) as { detail?: string; title?: string };
        detail = problem.detail ?? problem.title ?? text;
      } catch {
        // Not a problem document: a proxy or something else answered; show what it said.
      }
      const hint = res.status === 401 ? ` (check --token / ${TOKEN_ENV}: tokens are made with openwsus tokens create)` : '';
      throw new CliError(`${this.base} refused ${method} ${url.pathname}: ${detail}${hint}`, res.status === 400 ? 2 : 1);
    }
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /** The raw response of a streaming GET (server-sent events). */
  async stream(path: string): Promise<Response> {
    const res = await fetch(new URL(`/api/v1${path}`, this.base), { headers: { authorization: `Bearer ${this.#token}`, accept: 'text/event-stream' } });
    if (!res.ok || res.body === null) throw new CliError(`${this.base} refused GET ${path}: HTTP ${res.status}`);
    return res;
  }
}

/** The commands that can work through a server's API. */
const REMOTE_COMMANDS = [
  ['updates', 'list'],
  ['updates', 'approve'],
  ['updates', 'unapprove'],
  ['updates', 'decline'],
  ['updates', 'reinstate'],
  ['updates', 'status'],
  ['groups', 'list'],
  ['groups', 'create'],
  ['groups', 'delete'],
  ['computers', 'list'],
  ['computers', 'move'],
  ['computers', 'delete'],
  ['config', 'get'],
  ['config', 'set'],
  ['sync'],
  ['sync', 'status'],
  ['downstream', 'list'],
] as const;

/**
 * Gives those commands `--server` and `--token`. Per command rather than global: other commands
 * (simulate-clients) have a `--server` of their own.
 */
export function addRemoteOptions(program: Command): void {
  for (const path of REMOTE_COMMANDS) {
    let command: Command | undefined = program;
    for (const name of path) command = command?.commands.find((c) => c.name() === name);
    if (command === undefined) throw new Error(`no command ${path.join(' ')} to give --server`);
    command
      .option('--server <url>', `work through this server's administration API instead of the database (env ${SERVER_ENV})`)
      .option('--token <token>', `API token for --server (env ${TOKEN_ENV}; made with openwsus tokens create)`);
  }
}

interface RemoteFlags {
  server?: string;
  token?: string;
}

/** The API client when `--server` (or OPENWSUS_SERVER) is given, else undefined: the command works on the database. */
export function remoteClient(command: Command): ApiClient | undefined {
  const flags = command.optsWithGlobals<RemoteFlags>();
  const server = flags.server ?? process.env[SERVER_ENV];
  if (server === undefined || server === '') return undefined;
  const token = flags.token ?? process.env[TOKEN_ENV];
  if (token === undefined || token === '') throw new CliError(`--server needs an API token: --token TOKEN or ${TOKEN_ENV} (openwsus tokens create NAME --account ACCOUNT makes one)`, 2);
  return new ApiClient(server, token);
}

/** Reads server-sent events until the stream ends, calling `on` for each. */
export async function readEvents(res: Response, on: (event: string, data: unknown) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data !== '') on(event, JSON.parse(data));
    }
  }
}
