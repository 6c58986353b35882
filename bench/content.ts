// Content download throughput: our `/Content/...` route against nginx serving the same directory.
//
//   node_modules/.bin/node bench/content.ts [--files 4] [--file-mib 256] [--full-rounds 2]
//     [--full-concurrency 4] [--ranges 2048] [--connections 7] [--repeat 3] [--max-seconds 30]
//     [--nginx-workers 1|auto] [--nginx /usr/sbin/nginx] [--keep]
//
// Two workloads: whole files (`GET` without Range, several at once, as a downstream server pulls
// them) and Delivery Optimization's pattern (closed 1 MiB `Range: bytes=a-b` GETs at shuffled
// offsets over 7 keep-alive connections, WSUS-PROTOCOLS §4.9). Our server runs in a child process
// so it does not share an event loop with the client; nginx runs from a generated config
// (`daemon off`, temp dirs for pid, logs and temp paths, access log off, sendfile on) and is
// stopped at the end. Both are measured alternately `--repeat` times; the median is reported,
// with the server's CPU seconds per GiB served (all its processes and threads, from /proc),
// which moves less than MiB/s when other work shares the machine. The client is a minimal
// HTTP/1.1 reader over raw sockets that counts bytes, so it costs both servers the same and as
// little as possible. nginx comes from Debian (`apt-get install nginx`); without it only our
// numbers are printed.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const MiB = 1024 * 1024;

/** Child mode: our route over `root`, port printed on stdout as JSON. */
async function serve(root: string): Promise<void> {
  const { createHttpServer } = await import('../src/app/http.ts');
  const { createLogger } = await import('../src/app/log.ts');
  const { ContentStore } = await import('../src/content/index.ts');
  const { registerContentRoutes } = await import('../src/services/content-route.ts');
  const content = new ContentStore(root);
  // `warn`: no per-request lines, as nginx runs with access_log off.
  const app = await createHttpServer({
    logger: createLogger((process.env.BENCH_LOG_LEVEL as 'warn' | undefined) ?? 'warn', 2),
    health: async () => ({ status: 'ok', version: 'bench', serverId: 'bench', database: 'none', uptimeSeconds: 0, checks: {} }),
    routes: (instance) => registerContentRoutes(instance, { content }),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

interface Options {
  files: number;
  fileMiB: number;
  fullRounds: number;
  fullConcurrency: number;
  ranges: number;
  connections: number;
  repeat: number;
  maxSeconds: number;
  nginxWorkers: string;
  nginx: string;
  keep: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      files: { type: 'string', default: '4' },
      'file-mib': { type: 'string', default: '256' },
      'full-rounds': { type: 'string', default: '2' },
      'full-concurrency': { type: 'string', default: '4' },
      ranges: { type: 'string', default: '2048' },
      connections: { type: 'string', default: '7' },
      repeat: { type: 'string', default: '3' },
      'max-seconds': { type: 'string', default: '30' },
      'nginx-workers': { type: 'string', default: '1' },
      nginx: { type: 'string', default: '/usr/sbin/nginx' },
      keep: { type: 'boolean', default: false },
    },
  });
  const int = (name: keyof typeof values): number => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive whole number`);
    return n;
  };
  return {
    files: int('files'),
    fileMiB: int('file-mib'),
    fullRounds: int('full-rounds'),
    fullConcurrency: int('full-concurrency'),
    ranges: int('ranges'),
    connections: int('connections'),
    repeat: int('repeat'),
    maxSeconds: int('max-seconds'),
    nginxWorkers: String(values['nginx-workers']),
    nginx: String(values.nginx),
    keep: Boolean(values.keep),
  };
}

interface BenchFile {
  readonly url: string;
  readonly size: number;
}

interface Result {
  readonly bytes: number;
  readonly requests: number;
  readonly seconds: number;
  /** CPU seconds the server spent (all its processes and threads), undefined off Linux. */
  readonly cpuSeconds: number | undefined;
}

interface Target {
  readonly name: string;
  readonly port: number;
  /** The server's processes, whose CPU time is charged to it (Linux /proc). */
  readonly pids: () => number[];
}

async function main(): Promise<void> {
  const opts = options();
  const work = await mkdtemp(join(tmpdir(), 'openwsus-bench-content-'));
  // nginx workers drop to `nobody` when started as root: they must be able to read the tree.
  await chmod(work, 0o755);
  const root = join(work, 'content');
  const children: ChildProcess[] = [];
  try {
    process.stderr.write(`writing ${opts.files} × ${opts.fileMiB} MiB under ${root}\n`);
    const files = await makeFiles(root, opts.files, opts.fileMiB * MiB);

    const ours = await startOurs(root, children);
    const targets: Target[] = [{ name: 'openwsus', port: ours.port, pids: () => [ours.pid] }];
    if (existsSync(opts.nginx)) {
      const nginx = await startNginx(opts, work, root, children);
      targets.push({ name: 'nginx', port: nginx.port, pids: () => [nginx.pid, ...childPids(nginx.pid)] });
    } else {
      process.stderr.write(`no nginx at ${opts.nginx} (apt-get install nginx): measuring openwsus only\n`);
    }
    for (const target of targets) await sanityCheck(target, files);

    const loadBefore = loadavg()[0]!;
    const full: Record<string, Result[]> = {};
    const ranged: Record<string, Result[]> = {};
    for (let round = 0; round < opts.repeat; round += 1) {
      for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
        (full[target.name] ??= []).push(await fullDownloads(target, files, opts));
        (ranged[target.name] ??= []).push(await rangeDownloads(target, files, opts));
        process.stderr.write(`round ${round + 1}/${opts.repeat} ${target.name} done\n`);
      }
    }
    printTable(opts, targets, full, ranged, { before: loadBefore, after: loadavg()[0]! });
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((r) => child.once('exit', r)) : undefined)));
    if (!opts.keep) await rm(work, { recursive: true, force: true });
  }
}

/** Files named as the store names them (`XX/SHA1HEX.cab`), distinct bytes each. */
async function makeFiles(root: string, count: number, size: number): Promise<BenchFile[]> {
  const block = randomBytes(8 * MiB);
  const files: BenchFile[] = [];
  for (let i = 0; i < count; i += 1) {
    const temp = join(root, `tmp-${i}`);
    await mkdir(root, { recursive: true, mode: 0o755 });
    const handle = await open(temp, 'w', 0o644);
    const hash = createHash('sha1');
    try {
      for (let offset = 0; offset < size; offset += block.length) {
        const chunk = block.subarray(0, Math.min(block.length, size - offset));
        chunk.writeUInt32LE(i, 0); // unique per file and piece, so no two files share a digest
        chunk.writeUInt32LE(offset / block.length, 4);
        hash.update(chunk);
        await handle.write(chunk, 0, chunk.length, offset);
      }
    } finally {
      await handle.close();
    }
    const hex = hash.digest('hex').toUpperCase();
    const folder = hex.slice(-2);
    await mkdir(join(root, folder), { recursive: true, mode: 0o755 });
    await rename(temp, join(root, folder, `${hex}.cab`));
    files.push({ url: `/Content/${folder}/${hex}.cab`, size });
  }
  return files;
}

async function startOurs(root: string, children: ChildProcess[]): Promise<{ port: number; pid: number }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', root], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve({ port: (JSON.parse(line) as { port: number }).port, pid: child.pid! });
    });
    child.once('exit', (code) => reject(new Error(`our server exited early (${code})`)));
  });
}

async function startNginx(opts: Options, work: string, root: string, children: ChildProcess[]): Promise<{ port: number; pid: number }> {
  const port = await freePort();
  const dir = join(work, 'nginx');
  await mkdir(dir, { recursive: true });
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    `worker_processes ${opts.nginxWorkers};
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  types { }
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location /Content/ { alias ${root}/; }
  }
}
`,
  );
  const child = spawn(opts.nginx, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], { stdio: ['ignore', 'inherit', 'inherit'] });
  children.push(child);
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}); see ${dir}/error.log`);
    if (await canConnect(port)) return { port, pid: child.pid! };
    if (Date.now() > deadline) throw new Error('nginx did not start listening');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Both servers must give the same bytes for the same range before their speed means anything. */
async function sanityCheck(target: Target, files: readonly BenchFile[]): Promise<void> {
  const connection = new Connection(target.port);
  try {
    for (const file of files) {
      const start = file.size - MiB - 12_345;
      const response = await connection.get(file.url, `bytes=${start}-${start + MiB - 1}`, true);
      if (response.status !== 206 || response.bytes !== MiB) {
        throw new Error(`${target.name}: ${file.url} answered ${response.status} with ${response.bytes} bytes`);
      }
      const digest = response.hash!;
      const expected = (sanityDigests[file.url] ??= digest);
      if (expected !== digest) throw new Error(`${target.name}: ${file.url} served other bytes than the other server`);
    }
  } finally {
    connection.close();
  }
}
const sanityDigests: Record<string, string> = {};

async function fullDownloads(target: Target, files: readonly BenchFile[], opts: Options): Promise<Result> {
  const queue: BenchFile[] = [];
  for (let round = 0; round < opts.fullRounds; round += 1) queue.push(...files);
  return runQueue(target, queue, opts.fullConcurrency, opts.maxSeconds, (file) => ({ url: file.url, size: file.size }));
}

async function rangeDownloads(target: Target, files: readonly BenchFile[], opts: Options): Promise<Result> {
  // Shuffled pieces over all files, as DO spreads a job's pieces over its connections.
  const pieces: { url: string; start: number; end: number }[] = [];
  for (let i = 0; pieces.length < opts.ranges; i += 1) {
    const file = files[i % files.length]!;
    const piece = Math.floor(Math.random() * Math.ceil(file.size / MiB));
    const start = piece * MiB;
    pieces.push({ url: file.url, start, end: Math.min(file.size, start + MiB) - 1 });
  }
  return runQueue(target, pieces, opts.connections, opts.maxSeconds, (piece) => ({
    url: piece.url,
    range: `bytes=${piece.start}-${piece.end}`,
    size: piece.end - piece.start + 1,
  }));
}

async function runQueue<T>(
  target: Target,
  items: readonly T[],
  connections: number,
  maxSeconds: number,
  describe: (item: T) => { url: string; range?: string; size: number },
): Promise<Result> {
  let next = 0;
  let bytes = 0;
  let requests = 0;
  const cpuBefore = cpuTicks(target.pids());
  const started = performance.now();
  const deadline = started + maxSeconds * 1000;
  const lane = async (): Promise<void> => {
    const connection = new Connection(target.port);
    try {
      while (next < items.length && performance.now() < deadline) {
        const item = describe(items[next++]!);
        const response = await connection.get(item.url, item.range);
        const expected = item.range ? 206 : 200;
        if (response.status !== expected || response.bytes !== item.size) {
          throw new Error(`${target.name}: ${item.url} ${item.range ?? ''} answered ${response.status} with ${response.bytes} bytes`);
        }
        bytes += response.bytes;
        requests += 1;
      }
    } finally {
      connection.close();
    }
  };
  await Promise.all(Array.from({ length: connections }, lane));
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = cpuTicks(target.pids());
  const cpuSeconds = cpuBefore !== undefined && cpuAfter !== undefined ? (cpuAfter - cpuBefore) / CLOCK_TICKS : undefined;
  return { bytes, requests, seconds, cpuSeconds };
}

// USER_HZ: 100 on every Linux this runs on.
const CLOCK_TICKS = 100;

/** utime + stime of the processes (every thread included), or undefined without /proc. */
function cpuTicks(pids: readonly number[]): number | undefined {
  let total = 0;
  for (const pid of pids) {
    try {
      // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      total += Number(fields[11]) + Number(fields[12]);
    } catch {
      return undefined;
    }
  }
  return total;
}

/** nginx's workers: the master's children. */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * One keep-alive HTTP/1.1 connection that reads a response head, then counts Content-Length body
 * bytes without keeping them (optionally hashing them).
 */
class Connection {
  readonly #socket: Socket;
  #head: Buffer[] = [];
  #remaining = -1;
  #count = 0;
  #status = 0;
  #hash: ReturnType<typeof createHash> | undefined;
  #pending: { resolve: (r: { status: number; bytes: number; hash?: string }) => void; reject: (e: Error) => void } | undefined;
  #connected: Promise<void>;

  constructor(port: number) {
    this.#socket = connect({ port, host: '127.0.0.1', noDelay: true });
    this.#connected = new Promise((resolve, reject) => {
      this.#socket.once('connect', resolve);
      this.#socket.once('error', reject);
    });
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on('error', (error) => this.#pending?.reject(error));
    this.#socket.on('close', () => this.#pending?.reject(new Error('connection closed mid-response')));
  }

  async get(path: string, range?: string, hash = false): Promise<{ status: number; bytes: number; hash?: string }> {
    await this.#connected;
    this.#head = [];
    this.#remaining = -1;
    this.#count = 0;
    this.#hash = hash ? createHash('sha1') : undefined;
    const promise = new Promise<{ status: number; bytes: number; hash?: string }>((resolve, reject) => {
      this.#pending = { resolve, reject };
    });
    this.#socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${range ? `Range: ${range}\r\n` : ''}\r\n`);
    return promise;
  }

  close(): void {
    this.#pending = undefined;
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#remaining < 0) {
      this.#head.push(chunk);
      const all = this.#head.length === 1 ? chunk : Buffer.concat(this.#head);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = all.subarray(0, end).toString('latin1');
      this.#status = Number(head.slice(9, 12));
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      this.#remaining = length ? Number(length[1]) : 0;
      this.#head = [];
      chunk = all.subarray(end + 4);
    }
    const take = Math.min(chunk.length, this.#remaining);
    this.#hash?.update(chunk.subarray(0, take));
    this.#remaining -= take;
    this.#count += take;
    if (this.#remaining === 0) {
      const pending = this.#pending;
      this.#pending = undefined;
      this.#remaining = -1;
      pending?.resolve({ status: this.#status, bytes: this.#count, ...(this.#hash ? { hash: this.#hash.digest('hex') } : {}) });
    }
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function printTable(
  opts: Options,
  targets: readonly Target[],
  full: Record<string, Result[]>,
  ranged: Record<string, Result[]>,
  load: { before: number; after: number },
): void {
  const mibPerSecond = (r: Result): number => r.bytes / MiB / r.seconds;
  // Server CPU per GiB served: unlike MiB/s, barely moved by whatever else the machine runs.
  const cpuPerGiB = (r: Result): number | undefined => (r.cpuSeconds === undefined ? undefined : r.cpuSeconds / (r.bytes / (1024 * MiB)));
  const workloads: [string, Record<string, Result[]>][] = [
    [`full downloads (${opts.files} × ${opts.fileMiB} MiB × ${opts.fullRounds}, ${opts.fullConcurrency} concurrent)`, full],
    [`1 MiB ranges (${opts.ranges} requests, ${opts.connections} connections)`, ranged],
  ];
  const names = targets.map((t) => t.name);
  const both = names.length > 1;
  const lines = [
    `| workload | ${names.map((n) => `${n} MiB/s`).join(' | ')}${both ? ' | ours/nginx' : ''} | ${names.map((n) => `${n} CPU s/GiB`).join(' | ')} |`,
    `|${' --- |'.repeat(1 + names.length * 2 + (both ? 1 : 0))}`,
  ];
  for (const [label, results] of workloads) {
    const speed = names.map((n) => median(results[n]!.map(mibPerSecond)));
    const cpu = names.map((n) => {
      const values = results[n]!.map(cpuPerGiB).filter((v): v is number => v !== undefined);
      return values.length > 0 ? median(values).toFixed(2) : 'n/a';
    });
    const requests = label.startsWith('1 MiB')
      ? names.map((n) => ` (${median(results[n]!.map((r) => r.requests / r.seconds)).toFixed(0)} req/s)`)
      : names.map(() => '');
    const ratio = both ? ` | ${(speed[0]! / speed[1]!).toFixed(2)}x` : '';
    lines.push(`| ${label} | ${speed.map((v, i) => `${v.toFixed(0)}${requests[i]}`).join(' | ')}${ratio} | ${cpu.join(' | ')} |`);
  }
  process.stdout.write(
    [
      '',
      `Content throughput on loopback, median of ${opts.repeat} alternating runs`,
      `node ${process.version}, ${cpus().length} CPUs, nginx worker_processes ${opts.nginxWorkers}, load average ${load.before.toFixed(2)} before, ${load.after.toFixed(2)} after`,
      '',
      ...lines,
      '',
    ].join('\n'),
  );
}

// Last, so every class and constant above is initialised before either mode runs.
if (process.argv[2] === '--serve') {
  await serve(process.argv[3]!);
} else {
  await main();
}
