// A real `bin/openwsus serve` in a child process, as an administrator runs it: its own data
// directory and database, a free loopback port, ready once `/health` answers 200, stopped with
// SIGTERM (SIGKILL if it does not leave in time). For the multi-process integration tests and the
// benchmarks.
//
//   const db = await createBackendDatabase('postgres', dataDir);
//   const server = await startServeProcess({ dataDir, database: db.url });
//   … server.url …
//   await server.stop();
//   await db.drop();
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { DialectName } from '../../src/store/schema.ts';
import { BIN } from './cli.ts';
import { createPostgresDatabase } from './db.ts';

export interface BackendDatabase {
  readonly dialect: DialectName;
  /** What `--database` takes: `sqlite:<file>` or a `postgres://` URL. */
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * A database of its own for one server: a SQLite file in `dataDir`, or a fresh PostgreSQL
 * database on the server OPENWSUS_TEST_PG names (dropped by `drop`).
 */
export async function createBackendDatabase(dialect: DialectName, dataDir: string): Promise<BackendDatabase> {
  if (dialect === 'postgres') {
    const created = await createPostgresDatabase();
    return { dialect, url: created.url, drop: created.drop };
  }
  return { dialect, url: `sqlite:${join(dataDir, 'openwsus.db')}`, drop: async () => {} };
}

export interface ServeOptions {
  readonly dataDir: string;
  /** `--database`; absent: `<dataDir>/openwsus.db`. */
  readonly database?: string;
  /** `--log-level` (default `warn`: a request log line per request would be the bulk of the work). */
  readonly logLevel?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** How long the server may take to answer `/health` (default 30 s). */
  readonly startTimeoutMs?: number;
}

export interface ServeProcess {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** What the process wrote on stdout and stderr so far (the last 1 MiB). */
  output(): string;
  /** Whether the process is still running. */
  running(): boolean;
  /** Resident set size now, from /proc/<pid>/status VmRSS (KiB); undefined off Linux or once gone. */
  rssKiB(): number | undefined;
  /** Peak resident set size of the process so far (VmHWM, KiB). */
  peakRssKiB(): number | undefined;
  /** SIGTERM, then SIGKILL after `graceMs` (default 10 s). Resolves with how it ended. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const OUTPUT_KEEP = 1 << 20;

/** A port nothing listens on right now (the kernel's pick); a race with other processes is retried. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** A field of /proc/<pid>/status in KiB (`VmRSS`, `VmHWM`), or undefined. */
export function procStatusKiB(pid: number, field: string): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+([0-9]+) kB`, 'm').exec(status);
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await request(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    await response.body.dump();
    return response.statusCode === 200;
  } catch {
    return false;
  }
}

async function startOnce(options: ServeOptions, port: number): Promise<ServeProcess | 'port-taken'> {
  const args = [
    '--data',
    options.dataDir,
    ...(options.database === undefined ? [] : ['--database', options.database]),
    '--log-level',
    options.logLevel ?? 'warn',
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
  ];
  const child = spawn(BIN, args, { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: string): void => {
    output += chunk;
    if (output.length > 2 * OUTPUT_KEEP) output = output.slice(-OUTPUT_KEEP);
  };
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  child.once('error', (error) => keep(`\nspawn failed: ${error.message}\n`));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (exited(child) || child.pid === undefined) {
      await ended.catch(() => {});
      if (/EADDRINUSE/.test(output)) return 'port-taken';
      throw new Error(`openwsus serve exited before answering /health (${child.exitCode ?? child.signalCode}):\n${output.slice(-4000)}`);
    }
    if (await healthy(url)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await ended;
      throw new Error(`openwsus serve did not answer ${url}/health within ${options.startTimeoutMs ?? 30_000} ms:\n${output.slice(-4000)}`);
    }
    await sleep(50);
  }
  const pid = child.pid;
  return {
    url,
    port,
    pid,
    output: () => output,
    running: () => !exited(child),
    rssKiB: () => (exited(child) ? undefined : procStatusKiB(pid, 'VmRSS')),
    peakRssKiB: () => (exited(child) ? undefined : procStatusKiB(pid, 'VmHWM')),
    async stop(graceMs = 10_000) {
      if (exited(child)) return ended;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await ended;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Starts `bin/openwsus serve` on a free loopback port and waits until `/health` answers 200. */
export async function startServeProcess(options: ServeOptions): Promise<ServeProcess> {
  for (let attempt = 0; ; attempt++) {
    const started = await startOnce(options, await freePort());
    if (started !== 'port-taken') return started;
    if (attempt >= 4) throw new Error('no free loopback port after 5 attempts');
  }
}

/** Samples a process's VmRSS every `intervalMs` until stopped: the peak and the samples. */
export class RssSampler {
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  #peak = 0;
  #samples = 0;
  #sum = 0;

  constructor(pid: number, intervalMs = 50) {
    this.#pid = pid;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
    this.#timer.unref();
  }

  #sample(): void {
    const rss = procStatusKiB(this.#pid, 'VmRSS');
    if (rss === undefined) return;
    this.#peak = Math.max(this.#peak, rss);
    this.#samples++;
    this.#sum += rss;
  }

  /** Stops sampling; peak and mean VmRSS in KiB over the samples taken. */
  stop(): { peakKiB: number; meanKiB: number; samples: number } {
    clearInterval(this.#timer);
    this.#sample();
    return { peakKiB: this.#peak, meanKiB: this.#samples === 0 ? 0 : this.#sum / this.#samples, samples: this.#samples };
  }
}
