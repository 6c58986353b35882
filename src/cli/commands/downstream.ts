// `openwsus rollup`: report this server, the servers below it, their computers and update status
// to the upstream server now. `openwsus downstream`: on an upstream, what downstream servers
// reported: the servers, their computers, and per update the counts across the whole hierarchy.
import type { Command } from 'commander';
import { CliError, commandContext, printJson } from '../context.ts';
import type { DownstreamRow } from '../../admin/operations/downstream.ts';
import { remoteClient } from '../api-client.ts';
import { withStore } from '../store.ts';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function table(rows: readonly (readonly string[])[]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
}

const never = (iso: string): string => (iso.startsWith('1753-') ? 'never' : iso);

export function registerRollup(program: Command): void {
  program
    .command('rollup')
    .description('report this server, the servers below it, their computers and update status to the upstream server now')
    .option('--json', 'print the summary as JSON')
    .option('--reset', 'as an upstream server: make a new rollup reset id, so every downstream server sends everything in full at its next rollup (rolls up nothing)')
    .action(async (options: { json?: boolean; reset?: boolean }, command: Command) => {
      const context = commandContext(command);
      if (options.reset) {
        const { resetRollup } = await import('../../services/reporting/rollup.ts');
        const rollupResetId = await withStore(context, resetRollup);
        if (options.json) printJson({ rollupResetId });
        else process.stdout.write(`rollup reset id is now ${rollupResetId}: downstream servers send all their computers and status in full at their next rollup\n`);
        return;
      }
      const { rollUp } = await import('../../sync/rollup.ts');
      const { SettingError } = await import('../../domain/settings.ts');
      const { VERSION } = await import('../../app/version.ts');
      const controller = new AbortController();
      const abort = (): void => controller.abort();
      process.once('SIGINT', abort);
      try {
        const report = await withStore(context, (store) =>
          rollUp({
            store,
            version: VERSION,
            signal: controller.signal,
            onProgress: (p) => context.logger.info(p, `rollup: ${p.phase} ${p.done}/${p.total}`),
          }),
        );
        if (options.json) {
          printJson({ ...report, ms: Math.round(report.ms) });
          return;
        }
        process.stdout.write(
          `rolled up to ${report.upstream} in ${(report.ms / 1000).toFixed(1)} s: ${report.servers} servers` +
            (report.detailed
              ? `, ${report.computers} computers (${report.details} with details), status of ${report.statusComputers} (${report.fullStatus} in full, ${report.statusRows} rows)` +
                `${report.outOfSync > 0 ? `; ${report.outOfSync} out of sync upstream` : ''}`
              : '; the upstream collects no computer detail (its rollup.detailed is false)') +
            `${report.reset ? '; first rollup to this upstream (or it was reset): everything sent in full' : ''}\n`,
        );
      } catch (error) {
        if (error instanceof SettingError) throw new CliError(`cannot roll up: ${error.message}`);
        const { describeSyncFailure } = await import('../../sync/index.ts');
        throw new CliError(`rollup failed: ${describeSyncFailure(error, 'the upstream')}`);
      } finally {
        process.off('SIGINT', abort);
      }
    });
}

/**
 * The rollup that follows a synchronization from an upstream server (MS-WSUSSS 3.2.4.5). A
 * failure is logged, never the synchronization's failure; the next rollup sends what this one
 * could not.
 */
export async function rollupAfterSync(context: ReturnType<typeof commandContext>): Promise<void> {
  const { rollUp } = await import('../../sync/rollup.ts');
  const { VERSION } = await import('../../app/version.ts');
  try {
    await withStore(context, async (store) => {
      if ((await store.settings.get('upstream.source')) !== 'server') return;
      const report = await rollUp({ store, version: VERSION });
      context.logger.info({ rollup: { ...report, ms: Math.round(report.ms) } }, 'rollup: done');
    });
  } catch (error) {
    context.logger.warn({ error: (error as Error).message }, `rollup after the synchronization failed (the next one sends it): ${(error as Error).message}`);
  }
}

export function registerDownstream(program: Command): void {
  const downstream = program.command('downstream').description('what downstream servers reported to this server (reporting rollup)');

  downstream
    .command('list')
    .description('every downstream server below this one: name, version, mode, last sync, last rollup, counters')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const context = commandContext(command);
      const remote = remoteClient(command);
      const rows = remote !== undefined
        ? (await remote.request<{ hierarchy: DownstreamRow[] }>('GET', '/downstream-servers')).hierarchy
        : await withStore(context, async (store) => (await import('../../admin/operations/downstream.ts')).downstreamRows(store));
      if (options.json) {
        printJson(rows);
        return;
      }
      if (rows.length === 0) {
        process.stdout.write('no downstream server synchronizes from this server yet\n');
        return;
      }
      table([
        ['NAME', 'VERSION', 'MODE', 'PARENT', 'LAST SYNC', 'LAST ROLLUP', 'COMPUTERS', 'NEEDING', 'FAILING', 'UPDATES'],
        ...rows.map((r) => [
          r.name,
          r.version || '-',
          r.mode,
          r.parent,
          never(r.lastSyncTime ?? '1753-'),
          never(r.lastRollupTime ?? '1753-'),
          String(r.summary.ComputerTargetCount),
          String(r.summary.ComputerTargetsNeedingUpdatesCount),
          String(r.summary.ComputerTargetsWithUpdateErrorsCount),
          String(r.summary.UpdateCount),
        ]),
      ]);
    });

  downstream
    .command('computers')
    .description('computers a downstream server reported as its own, with their update counts')
    .argument('<server>', 'the downstream server: name or id')
    .option('--json', 'print as JSON')
    .action(async (server: string, options: { json?: boolean }, command: Command) => {
      const context = commandContext(command);
      const { bucketOfState } = await import('../../domain/rollup.ts');
      const rows = await withStore(context, async (store) => {
        const servers = await store.rollup.servers();
        const wanted = server.trim().toLowerCase();
        const found = servers.filter((s) => s.id === wanted || s.name.toLowerCase() === wanted || s.name.toLowerCase().split('.')[0] === wanted);
        if (found.length === 0) throw new CliError(`unknown downstream server "${server}" (see openwsus downstream list)`);
        if (found.length > 1) throw new CliError(`more than one downstream server matches "${server}": give its id (${found.map((s) => `${s.name} ${s.id}`).join(', ')})`);
        const [computers, counts] = await Promise.all([store.rollup.computers(found[0]!.id), store.rollup.statusCountsByComputer()]);
        return computers.map((c) => {
          const n = { Installed: 0, Needed: 0, Failed: 0, NotApplicable: 0 };
          for (const [state, count] of Object.entries(counts.get(c.computerId) ?? {})) n[bucketOfState(Number(state))] += count;
          return {
            id: c.computerId,
            name: c.fullDomainName ?? null,
            ipAddress: c.ipAddress ?? null,
            os: c.details?.osDescription || (c.details !== undefined ? `${c.details.osMajor}.${c.details.osMinor}.${c.details.osBuild}` : null),
            parentServerId: c.parentServerId,
            lastSyncTime: c.lastSyncTime.startsWith('1753-') ? null : c.lastSyncTime,
            lastReportedStatusTime: c.lastReportedStatusTime.startsWith('1753-') ? null : c.lastReportedStatusTime,
            updates: n,
          };
        });
      });
      if (options.json) {
        printJson(rows);
        return;
      }
      if (rows.length === 0) {
        process.stdout.write('no computers rolled up from this server (is detailed rollup on? openwsus config get rollup.detailed)\n');
        return;
      }
      table([
        ['NAME', 'IP', 'OS', 'LAST SYNC', 'INSTALLED', 'NEEDED', 'FAILED'],
        ...rows.map((r) => [r.name ?? r.id, r.ipAddress ?? '-', r.os ?? '-', r.lastSyncTime ?? 'never', String(r.updates.Installed), String(r.updates.Needed), String(r.updates.Failed)]),
      ]);
    });

  downstream
    .command('status')
    .description('per update: computers Installed, Needed, Failed and Not applicable across the whole hierarchy (this server and every server below)')
    .argument('[update]', 'an update id (GUID); without it, every update some computer reported')
    .option('--json', 'print as JSON')
    .action(async (update: string | undefined, options: { json?: boolean }, command: Command) => {
      if (update !== undefined && !GUID.test(update.trim())) throw new CliError(`"${update}" is not an update id (a GUID)`, 2);
      const context = commandContext(command);
      const updateId = update?.trim().toLowerCase();
      const { hierarchyStatus } = await import('../../admin/operations/downstream.ts');
      const rows = await withStore(context, (store) => hierarchyStatus(store, updateId));
      if (options.json) {
        printJson(updateId !== undefined ? rows[0] : rows);
        return;
      }
      if (rows.length === 0) {
        process.stdout.write('no computer has reported the status of any update yet\n');
        return;
      }
      table([
        ['UPDATE', 'INSTALLED', 'NEEDED', 'FAILED', 'NOT APPLICABLE', 'TITLE'],
        ...rows.map((r) => [r.updateId, String(r.installed), String(r.needed), String(r.failed), String(r.notApplicable), r.title ?? '']),
      ]);
    });
}
