// `openwsus demo`: a three-server hierarchy on loopback, set up the way an administrator would.
//
//   root        serves a generated catalog (with content) as its Microsoft Update stand-in
//   downstream  autonomous: synchronizes from the root, has groups and approvals, clients
//   replica     synchronizes from the downstream, takes its groups and approvals, clients
//
// The three run in this process (startServer three times, one data directory each, SQLite):
// one Node process starts faster than three and stops with one Ctrl-C. Everything goes through
// the pieces a real deployment uses: settings, the sync engine, the admin operations, the
// content queue, the client simulator over HTTP and the rollup. Re-running reuses the data:
// what exists (groups, approvals, computers, the imported catalog) is found, not made again.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BootConfig } from '../../app/config.ts';
import { dataPaths } from '../../app/config.ts';
import type { Logger } from '../../app/log.ts';
import { startServer, type RunningServer } from '../../app/server.ts';
import { VERSION } from '../../app/version.ts';
import { ADMIN_PASSWORD_ENV, changeAccount, createAccount, INITIAL_ADMIN } from '../../admin/operations/accounts.ts';
import { createGroup } from '../../admin/operations/groups.ts';
import { approveUpdates } from '../../admin/operations/updates.ts';
import { applySettings, checkSettingValue } from '../../admin/operations/settings.ts';
import { generatePassword } from '../../admin/passwords.ts';
import { writeGeneratedCatalog } from '../../catalog/export.ts';
import { ContentStore } from '../../content/index.ts';
import type { ComputerGroup } from '../../domain/deployment.ts';
import { CLIENT_SETTING_KEYS } from '../../domain/computer.ts';
import { simulateClients, type ClientScanResult } from '../../simulator/index.ts';
import type { Store } from '../../store/index.ts';
import { describeSyncFailure, synchronize, type SyncProgress } from '../../sync/index.ts';
import { ContentDownloader, reconcileContentQueue } from '../../sync/content-downloader.ts';
import { rollUp } from '../../sync/rollup.ts';
import { reconcileContent } from '../../transfer/content-state.ts';
import { importCatalogFile } from '../../transfer/import-job.ts';
import { CliError } from '../context.ts';

/** Written into a demo data directory: `--reset` wipes only directories that carry it. */
const MARKER = '.openwsus-demo';
const HOST = '127.0.0.1';
/** The groups the demo approves for; computers name them (client-side targeting). */
const DEMO_GROUPS = { pilot: 'Pilot', production: 'Production' } as const;
/** Updates approved for Pilot (Install), and of those for Production (Install with a deadline). */
const PILOT_APPROVALS = 6;
const PRODUCTION_APPROVALS = 3;
const DEADLINE_DAYS = 7;
/** Production computers are numbered from here: Pilot's never meet them, whatever --clients is. */
const PRODUCTION_FIRST_INDEX = 10_000;

export type Role = 'root' | 'downstream' | 'replica';

export interface DemoOptions {
  readonly data: string;
  readonly basePort: number;
  readonly updates: number;
  /** Simulated computers per downstream server. */
  readonly clients: number;
  readonly reset: boolean;
  readonly password: string | undefined;
  readonly logger: Logger;
  /** Progress lines. */
  readonly say: (line: string) => void;
}

export interface DemoServer {
  readonly role: Role;
  readonly url: string;
  readonly data: string;
  readonly server: RunningServer;
}

export interface DemoSummary {
  readonly data: string;
  readonly servers: readonly DemoServer[];
  readonly password: string;
  readonly revisions: number;
  readonly approvals: number;
  readonly computers: Readonly<Record<'downstream' | 'replica', number>>;
  /** What the root holds through rollup. */
  readonly rolledUp: { readonly servers: number; readonly computers: number };
  /** Stops the three servers, the replica first. */
  close(): Promise<void>;
}

/** Builds (or finds) the hierarchy and leaves its three servers running. */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { say } = options;
  const data = resolve(options.data);
  prepareDataDir(data, options.reset, say);
  const password = options.password ?? generatePassword();
  const started: DemoServer[] = [];
  const close = async (): Promise<void> => {
    for (const s of [...started].reverse()) await s.server.close();
    started.length = 0;
  };
  const step = stepper(say);
  try {
    // ---- the root: a generated catalog as its Microsoft Update stand-in ------------------
    const rootDir = join(data, 'root');
    const catalogFile = join(data, `catalog-${options.updates}.owx`);
    if (!existsSync(catalogFile)) {
      step(`generating a sample catalog of ${options.updates} revisions with its content`);
      let shown = 0;
      await writeGeneratedCatalog({ updates: options.updates, seed: 'demo' }, catalogFile, {
        contentDir: dataPaths(rootDir).content,
        onProgress: (done, total) => {
          if (done === total || done - shown >= Math.max(500, total / 4)) {
            shown = done;
            say(`  ${done}/${total} revisions`);
          }
        },
      });
    }
    const root = await start('root', rootDir, options.basePort, password, options.logger, started);
    // What each server calls itself upstream: all three share this host's name.
    await configure(root.server.store, { 'server.name': 'root' });
    step(`root on ${root.url}: importing the catalog`);
    const imported = await importCatalogFile(root.server.store, catalogFile);
    await reconcileContent(root.server.store, ContentStore.inDataDir(rootDir));
    const revisions = (await root.server.store.catalog.stats()).revisions;
    say(`  ${revisions} revisions (${imported.inserted} new)`);

    // ---- the downstream: autonomous, everything the root has ----------------------------
    const downstream = await start('downstream', join(data, 'downstream'), options.basePort + 1, password, options.logger, started);
    const categories = await root.server.store.catalog.categories();
    await configure(downstream.server.store, {
      'server.name': 'downstream',
      'upstream.source': 'server',
      'upstream.server': HOST,
      'upstream.port': options.basePort,
      products: categories.filter((c) => c.categoryType === 'ProductFamily' || c.categoryType === 'Product').map((c) => c.updateId),
      classifications: categories.filter((c) => c.categoryType === 'UpdateClassification').map((c) => c.updateId),
      [CLIENT_SETTING_KEYS.targetingMode]: 'client',
    });
    step(`downstream on ${downstream.url}: synchronizing from the root`);
    await sync(downstream, say);
    const groups = await ensureGroups(downstream.server.store);
    const approved = await approveDemoUpdates(downstream.server.store, groups);
    say(`  groups ${DEMO_GROUPS.pilot} and ${DEMO_GROUPS.production}; ${approved.added} approvals made (${approved.total} in all)`);
    await downloadContent(downstream, say);

    // ---- the replica: the downstream's approvals and groups ------------------------------
    const replica = await start('replica', join(data, 'replica'), options.basePort + 2, password, options.logger, started);
    await configure(replica.server.store, {
      'server.name': 'replica',
      'upstream.source': 'server',
      'upstream.server': HOST,
      'upstream.port': options.basePort + 1,
      'upstream.replica': true,
      [CLIENT_SETTING_KEYS.targetingMode]: 'client',
    });
    step(`replica on ${replica.url}: synchronizing from the downstream`);
    await sync(replica, say);
    await downloadContent(replica, say);

    // ---- a simulated fleet against each downstream server -------------------------------
    const computers = { downstream: 0, replica: 0 };
    for (const [server, seed] of [[downstream, 1], [replica, 2]] as const) {
      step(`${options.clients} simulated Windows computers scan ${server.role} (${server.url})`);
      const results = await runFleet(server.url, seed, options.clients);
      say(`  ${fleetLine(results)}`);
      computers[server.role as 'downstream' | 'replica'] = (await server.server.store.computers.list()).length;
    }

    // ---- rollup: replica -> downstream -> root -----------------------------------------
    step('rolling up: replica to downstream, downstream to root');
    for (const server of [replica, downstream]) {
      const report = await rollUp({ store: server.server.store, version: VERSION });
      say(`  ${server.role}: ${report.servers} servers, ${report.computers} computers, status of ${report.statusComputers}`);
    }
    const rolled = { servers: (await root.server.store.rollup.servers()).length, computers: (await root.server.store.rollup.computers()).length };

    return { data, servers: [...started], password, revisions, approvals: approved.total, computers, rolledUp: rolled, close };
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}

function stepper(say: (line: string) => void): (text: string) => void {
  let n = 0;
  const t0 = performance.now();
  return (text) => say(`[${++n}] ${text}… (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}

/** A directory this demo (or the one-server demo before it, with its sample-N.owx) made. */
function isDemoDir(entries: readonly string[]): boolean {
  return entries.includes(MARKER) || entries.some((e) => /^sample-\d+\.owx$/.test(e));
}

function prepareDataDir(data: string, reset: boolean, say: (line: string) => void): void {
  const entries = existsSync(data) ? readdirSync(data) : [];
  // Never write into (nor wipe) a directory the demo did not make: a typo in --data must not
  // cost real data, and a marker in a foreign directory would let a later --reset remove it.
  if (entries.length > 0 && !isDemoDir(entries)) {
    throw new CliError(`${data} is not empty and does not look like a demo data directory (no ${MARKER} in it): choose another --data`, 2);
  }
  if (reset && entries.length > 0) {
    say(`removing ${data} (--reset)`);
    rmSync(data, { recursive: true, force: true });
  }
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, MARKER), 'Data of `openwsus demo`: `openwsus demo --reset` removes this directory.\n');
}

async function start(role: Role, dir: string, port: number, password: string, logger: Logger, started: DemoServer[]): Promise<DemoServer> {
  const config: BootConfig = { data: dir, host: HOST, port, httpsPort: 0, logLevel: 'warn' };
  mkdirSync(dir, { recursive: true });
  // The first start creates `admin` with this password (and prints nothing); later starts find
  // the account, which gets this run's password below.
  const before = process.env[ADMIN_PASSWORD_ENV];
  process.env[ADMIN_PASSWORD_ENV] = password;
  let server: RunningServer;
  try {
    server = await startServer(config, logger.child({ server: role }));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new CliError(`cannot listen on ${HOST}:${port} for the ${role} (${code === 'EADDRINUSE' ? 'in use' : 'not allowed'}): choose other ports with --port BASE (the demo uses BASE, BASE+1, BASE+2)`);
    }
    throw error;
  } finally {
    if (before === undefined) delete process.env[ADMIN_PASSWORD_ENV];
    else process.env[ADMIN_PASSWORD_ENV] = before;
  }
  const entry: DemoServer = { role, url: server.listeners[0]!.url, data: dir, server };
  started.push(entry);
  const account = await server.store.accounts.get(INITIAL_ADMIN);
  if (account === undefined) await createAccount(server.store, { name: INITIAL_ADMIN, role: 'Administrators', password });
  else await changeAccount(server.store, INITIAL_ADMIN, { role: 'Administrators', password, disabled: false });
  return entry;
}

/** Settings as `openwsus config set` stores them: each value checked against its key. */
async function configure(store: Store, values: Readonly<Record<string, unknown>>): Promise<void> {
  const checked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) checked[key] = checkSettingValue(key, value, key);
  await applySettings(store, checked);
}

async function sync(server: DemoServer, say: (line: string) => void): Promise<void> {
  // A line per phase with something to fetch, and per quarter of a long one.
  let phase = '';
  let shown = 0;
  const upstream = server.role === 'replica' ? 'the downstream' : 'the root';
  const report = await synchronize({
    store: server.server.store,
    onProgress: (p: SyncProgress) => {
      if (p.total === 0) return;
      if (p.phase !== phase) {
        phase = p.phase;
        shown = 0;
        say(`  ${p.phase}: ${p.total} to fetch`);
      } else if (p.done === p.total ? shown < p.total : p.done - shown >= Math.max(250, p.total / 4)) {
        shown = p.done;
        say(`  ${p.phase}: ${p.done}/${p.total}`);
      }
    },
  }).catch((error: unknown) => {
    throw new CliError(`the ${server.role} could not synchronize from ${upstream}: ${describeSyncFailure(error, upstream)} (the servers' logs: --log-level warn)`);
  });
  const d = report.deployments;
  say(
    `  synchronized in ${(report.ms / 1000).toFixed(1)} s: ${report.updates.fetched} of ${report.updates.listed} updates fetched` +
      (d === undefined ? '' : `; ${d.groupsUpserted} groups, ${d.approvalsUpserted} approvals, ${d.declinesAdded} declines taken`),
  );
}

async function ensureGroups(store: Store): Promise<{ pilot: ComputerGroup; production: ComputerGroup }> {
  const find = async (name: string): Promise<ComputerGroup> => {
    const existing = (await store.groups.list()).find((g) => g.name.toLowerCase() === name.toLowerCase());
    return existing ?? (await createGroup(store, name, undefined)).group;
  };
  return { pilot: await find(DEMO_GROUPS.pilot), production: await find(DEMO_GROUPS.production) };
}

/**
 * The newest security updates for Pilot, and the newest few of them for Production with a
 * deadline. An update already approved for a group keeps its approval (a re-run adds nothing).
 */
async function approveDemoUpdates(store: Store, groups: { pilot: ComputerGroup; production: ComputerGroup }): Promise<{ added: number; total: number }> {
  const { updates } = await store.approvals.listUpdates({ classification: 'Security Updates', includeDeclined: false, limit: PILOT_APPROVALS });
  const deadline = new Date(Date.now() + DEADLINE_DAYS * 86_400_000);
  deadline.setUTCHours(18, 0, 0, 0);
  let added = 0;
  const plan = [
    { group: groups.pilot, updates: updates.slice(0, PILOT_APPROVALS) },
    { group: groups.production, updates: updates.slice(0, PRODUCTION_APPROVALS), deadline: deadline.toISOString() },
  ];
  for (const p of plan) {
    const missing = p.updates.filter((u) => !u.approvals.some((a) => a.groupId === p.group.id)).map((u) => u.updateId);
    if (missing.length === 0) continue;
    const outcomes = await approveUpdates(store, {
      updates: missing,
      group: p.group,
      action: 'Install',
      adminName: INITIAL_ADMIN,
      ...(p.deadline !== undefined && { deadline: p.deadline }),
    });
    added += outcomes.filter((o) => o.outcome === 'changed').length;
  }
  let total = 0;
  for await (const _ of store.approvals.iterate()) total++;
  return { added, total };
}

/** The files of approved updates, from the server's upstream, before clients ask for them. */
async function downloadContent(server: DemoServer, say: (line: string) => void): Promise<void> {
  await reconcileContentQueue(server.server.store);
  const downloader = new ContentDownloader({ store: server.server.store, content: ContentStore.inDataDir(server.data) });
  const pass = await downloader.runOnce();
  const queue = await server.server.store.contentQueue.counts();
  say(`  content: ${pass.present} files downloaded (${pass.bytes} bytes)${pass.failed > 0 ? `, ${pass.failed} failed` : ''}; ${queue.present} present`);
}

async function runFleet(serverUrl: string, seed: number, clients: number): Promise<ClientScanResult[]> {
  const pilot = Math.ceil(clients / 2);
  const production = clients - pilot;
  const concurrency = Math.min(8, Math.max(1, clients));
  const results = await simulateClients({ serverUrl, seed, count: pilot, group: DEMO_GROUPS.pilot, install: true, concurrency });
  if (production > 0) {
    results.push(...(await simulateClients({ serverUrl, seed, count: production, firstIndex: PRODUCTION_FIRST_INDEX, group: DEMO_GROUPS.production, concurrency })));
  }
  return results;
}

function fleetLine(results: readonly ClientScanResult[]): string {
  const ok = results.filter((r) => r.ok).length;
  const offered = results.reduce((n, r) => n + r.offered.filter((u) => u.action === 'Install').length, 0);
  const downloads = results.flatMap((r) => r.downloads);
  const failed = results.find((r) => !r.ok);
  return (
    `${ok}/${results.length} scanned and reported; ${offered} approved installs offered, ` +
    `${downloads.filter((d) => d.ok).length}/${downloads.length} downloads` +
    (failed === undefined ? '' : `; ${failed.dnsName} failed: ${failed.error}`)
  );
}
