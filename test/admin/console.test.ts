// The web console in real headless Chromium (Debian's, driven by playwright-core) against three
// real servers on loopback in this process: a root serving a generated catalog, a downstream that
// synchronizes from it, and a replica of the downstream. What an admin does on each page, and what
// a Reporter and a replica may not do. Screenshots of each page go to test-output/console/.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DEFAULTS } from '../../src/app/config.ts';
import { createLogger } from '../../src/app/log.ts';
import { startServer, type RunningServer } from '../../src/app/server.ts';
import { writeGeneratedCatalog } from '../../src/catalog/export.ts';
import { importCatalogFile } from '../../src/transfer/import-job.ts';
import { ALL_NEEDED, SimulatedClient } from '../../src/simulator/index.ts';

const CHROMIUM = process.env.OPENWSUS_CHROMIUM ?? '/usr/bin/chromium';
const ADMIN_PASSWORD = 'console admin password';
const REPORTER_PASSWORD = 'console reporter password';
const SHOTS = join('test-output', 'console');

const work = mkdtempSync(join(tmpdir(), 'openwsus-console-'));
const servers: RunningServer[] = [];
let browser: Browser;
let root: RunningServer;
let downstream: RunningServer;
let replica: RunningServer;

const url = (server: RunningServer): string => server.listeners[0]!.url;
const port = (server: RunningServer): number => Number(new URL(url(server)).port);

async function boot(name: string): Promise<RunningServer> {
  const server = await startServer({ ...DEFAULTS, data: join(work, name), host: '127.0.0.1', port: 0, httpsPort: 0, logLevel: 'silent' }, createLogger('silent'));
  servers.push(server);
  return server;
}

before(async () => {
  // Every server makes its first administrator from this on its first start.
  process.env.OPENWSUS_ADMIN_PASSWORD = ADMIN_PASSWORD;
  const catalog = join(work, 'catalog.owx');
  // The files go straight into the root's content directory: the root serves them as it would its own.
  await writeGeneratedCatalog({ updates: 120, seed: 'console' }, catalog, { contentDir: join(work, 'root', 'content') });
  root = await boot('root');
  await importCatalogFile(root.store, catalog);
  downstream = await boot('downstream');
  for (const [key, value] of Object.entries({ 'upstream.source': 'server', 'upstream.server': '127.0.0.1', 'upstream.port': port(root) })) await downstream.store.settings.set(key, value);
  replica = await boot('replica');
  for (const [key, value] of Object.entries({ 'upstream.source': 'server', 'upstream.server': '127.0.0.1', 'upstream.port': port(downstream), 'upstream.replica': true })) await replica.store.settings.set(key, value);
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // The machines' network is closed: without these Chromium keeps trying to reach Google.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});

after(async () => {
  await browser?.close();
  for (const server of servers.reverse()) await server.close();
  rmSync(work, { recursive: true, force: true });
});

async function signIn(server: RunningServer, name: string, password: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
  const failures: string[] = [];
  page.on('pageerror', (error) => failures.push(error.message));
  page.on('close', () => assert.deepEqual(failures, [], 'the console threw'));
  await page.goto(`${url(server)}/admin/`);
  await page.getByLabel('Account').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  return page;
}

async function open(page: Page, section: string, heading: string | RegExp): Promise<void> {
  await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: section }).click();
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

/** The API as the signed-in page sees it (its session cookie and CSRF token). */
function apiFrom(page: Page, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return page.evaluate(
    async ({ method, path, body }) => {
      // Runs in the page: its document, not Node's (no DOM types in this project).
      const cookies = String((globalThis as { document?: { cookie: string } }).document?.cookie ?? '');
      const csrf = cookies.split('; ').find((c: string) => c.startsWith('openwsus_csrf='))?.split('=')[1];
      const response = await fetch(`/api/v1${path}`, {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(csrf ? { 'x-csrf-token': csrf } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text === '' ? null : JSON.parse(text) };
    },
    { method, path, body },
  );
}

test('an administrator synchronizes, chooses products and languages, approves with a deadline and sees a computer\'s status change; a replica and a Reporter are refused', { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}` }, async () => {
  const page = await signIn(downstream, 'admin', ADMIN_PASSWORD);
  await shot(page, 'overview');

  // Synchronize now, and watch the run end in the history.
  await open(page, 'Synchronizations', 'Synchronizations');
  await page.getByRole('button', { name: 'Synchronize now' }).click();
  await page.locator('[data-testid=sync-history] tr:is([data-result=succeeded], [data-result=failed])').first().waitFor({ timeout: 120_000 });
  const firstRun = (await apiFrom(page, 'GET', '/sync')).body.run;
  assert.equal(firstRun.result, 'succeeded', `the synchronization failed: ${firstRun.error}`);
  await page.getByTestId('sync-state').filter({ hasText: 'succeeded' }).waitFor();
  await shot(page, 'synchronizations');
  const held = (await apiFrom(page, 'GET', '/updates?limit=1')).body.total as number;
  assert.ok(held > 0, 'the downstream holds updates after the console\'s synchronization');

  // Products: choosing a family takes its products; languages: a chosen subset.
  await open(page, 'Options', 'Options');
  const categories = (await apiFrom(page, 'GET', '/categories')).body;
  const family = categories.products.flatMap((company: any) => company.children).find((f: any) => f.title === 'Office');
  assert.ok(family, 'the product tree came from the upstream');
  const familyBox = page.locator(`input[data-category="${family.id}"]`);
  await familyBox.check();
  for (const product of family.children) assert.equal(await page.locator(`input[data-category="${product.id}"]`).isChecked(), true, 'a chosen family ticks its products');
  await page.getByRole('button', { name: 'Save products and classifications' }).click();
  await page.getByText('Saved products and classifications.').waitFor();
  const storedProducts = (await downstream.store.settings.get('products')) as string[];
  assert.ok(storedProducts.includes(family.id), `the family ${family.id} is stored as chosen: ${JSON.stringify(storedProducts)}`);

  await page.getByLabel('Keep updates in').selectOption('list');
  for (const box of await page.locator('input[data-language]').all()) await box.setChecked(['en', 'de'].includes((await box.getAttribute('data-language'))!));
  await page.getByRole('button', { name: 'Save languages' }).click();
  await page.getByText('Saved languages.').waitFor();
  assert.deepEqual([...((await downstream.store.settings.get('languages')) as string[])].sort(), ['de', 'en']);
  await shot(page, 'options');

  // A group, and a simulated computer moved into it.
  await open(page, 'Computers', 'Computers');
  await page.getByLabel('Name', { exact: true }).fill('Pilot');
  await page.getByRole('button', { name: 'Create group' }).click();
  await page.getByRole('heading', { level: 1, name: 'Computers: Pilot' }).waitFor();
  const computer = new SimulatedClient({ serverUrl: url(downstream), index: 0, seed: 7, profile: ALL_NEEDED, install: true });
  await computer.scan();
  await open(page, 'Computers', 'Computers');
  const row = page.locator('tr[data-computer-id]').first();
  await row.getByRole('button').click();
  const details = page.getByTestId('computer-details');
  await details.getByLabel('Group').selectOption({ label: 'Pilot' });
  await details.getByRole('button', { name: 'Move' }).click();
  await page.getByText(/^Moved /).waitFor();
  const computerId = (await row.getAttribute('data-computer-id'))!;
  computer.renewCookie();
  await computer.scan();

  // Pick an update the computer reported as needed (detection approval of Security and Critical
  // updates), approve it for Pilot with a deadline, and see the computer install it.
  const before = (await apiFrom(page, 'GET', `/computers/${encodeURIComponent(computerId)}`)).body;
  const needed = before.statuses.find((s: any) => s.status === 'NotInstalled');
  assert.ok(needed, `the computer reports a needed update (statuses: ${JSON.stringify(before.statuses.slice(0, 5))})`);
  await open(page, 'Updates', 'Updates');
  await page.getByLabel('Text or KB').fill(needed.title);
  await page.getByRole('button', { name: 'Apply' }).click();
  const updateRow = page.locator(`tr[data-update-id="${needed.updateId}"]`);
  await updateRow.getByRole('checkbox').check();
  await page.getByLabel('Computer group').selectOption({ label: 'Pilot' });
  await page.getByLabel('Action', { exact: true }).selectOption('Install');
  await page.getByLabel('Deadline (optional)').fill('2030-06-01T12:00');
  await page.getByRole('button', { name: 'Approve', exact: true }).click();
  await page.getByText('Approved 1 of 1 update(s).').waitFor();
  await updateRow.getByText(/Install for Pilot by/).waitFor();
  await shot(page, 'updates');
  const approvals = (await apiFrom(page, 'GET', `/updates/${needed.updateId}`)).body.approvals;
  assert.equal(approvals.find((a: any) => a.group === 'Pilot')?.deadline, new Date('2030-06-01T12:00').toISOString());

  await open(page, 'Computers', 'Computers');
  await page.locator(`tr[data-computer-id="${computerId}"]`).getByRole('button').click();
  await details.locator(`tr[data-update-id="${needed.updateId}"][data-status=NotInstalled]`).waitFor();
  // The approval woke the downstream's downloader (deferred downloads): the files arrive, then the computer installs it.
  for (let i = 0; ; i++) {
    const queue = await downstream.store.contentQueue.counts();
    if (queue.present > 0 && queue.queued + queue.downloading === 0) break;
    assert.ok(i < 300, `the approved update's files arrive: ${JSON.stringify(queue)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await computer.scan();
  await page.reload();
  await page.locator(`tr[data-computer-id="${computerId}"]`).getByRole('button').click();
  await details.locator(`tr[data-update-id="${needed.updateId}"][data-status=Installed]`).waitFor();
  await shot(page, 'computers');

  await open(page, 'Reports', 'Reports');
  await shot(page, 'reports');

  // The replica synchronizes from the downstream: it shows up there, and refuses approvals.
  const replicaPage = await signIn(replica, 'admin', ADMIN_PASSWORD);
  assert.equal((await apiFrom(replicaPage, 'POST', '/sync')).status, 202);
  await open(replicaPage, 'Synchronizations', 'Synchronizations');
  await replicaPage.locator('[data-testid=sync-history] tr[data-result=succeeded]').first().waitFor({ timeout: 120_000 });
  await open(replicaPage, 'Updates', 'Updates');
  await replicaPage.getByTestId('replica-notice').waitFor();
  assert.equal(await replicaPage.getByRole('button', { name: 'Approve', exact: true }).isDisabled(), true);
  const refused = await apiFrom(replicaPage, 'POST', '/updates/approve', { updateIds: [needed.updateId], groupId: approvals[0].groupId, action: 'Install' });
  assert.equal(refused.status, 409, 'a replica refuses approvals');
  await replicaPage.locator(`tr[data-update-id="${needed.updateId}"]`).getByText(/Install for Pilot/).waitFor();
  await shot(replicaPage, 'replica-updates');
  await replicaPage.close();

  await open(page, 'Downstream servers', 'Downstream servers');
  await page.locator('tr[data-server-id]').first().waitFor();
  await shot(page, 'downstream-servers');

  // A Reporter, created on the Accounts page, sees everything and can change nothing.
  await open(page, 'Accounts', 'Accounts');
  await page.getByLabel('Name', { exact: true }).fill('auditor');
  await page.getByLabel('Role').selectOption('Reporters');
  await page.getByLabel('Password').fill(REPORTER_PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('cell', { name: 'auditor' }).waitFor();
  await shot(page, 'accounts');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to openwsus' }).waitFor();
  await page.close();

  const reporter = await signIn(downstream, 'auditor', REPORTER_PASSWORD);
  await open(reporter, 'Options', 'Options');
  await reporter.getByTestId('readonly-notice').waitFor();
  assert.equal(await reporter.getByRole('button', { name: 'Save settings' }).isDisabled(), true);
  await open(reporter, 'Updates', 'Updates');
  assert.equal(await reporter.getByRole('button', { name: 'Approve', exact: true }).isDisabled(), true);
  assert.equal(await reporter.getByRole('link', { name: 'Accounts' }).isHidden(), true);
  const forced = await apiFrom(reporter, 'POST', '/updates/decline', { updateIds: [needed.updateId] });
  assert.equal(forced.status, 403, 'the API refuses a Reporter\'s change');
  assert.equal((await apiFrom(reporter, 'GET', `/updates/${needed.updateId}`)).body.declined, false, 'nothing changed');
  await shot(reporter, 'reporter-updates');
  await reporter.close();
});
