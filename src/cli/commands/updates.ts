// `openwsus updates`: approve, take back, decline and list updates, and see how computers stand
// on one, until the administration API takes it over.
import type { Command } from 'commander';
import type { ApprovalAction } from '../../domain/deployment.ts';
import type { StoredRevision } from '../../domain/catalog-records.ts';
import type { Store } from '../../store/index.ts';
import { CliError, commandContext, integerFlag, printJson } from '../context.ts';
import { remoteClient } from '../api-client.ts';
import * as shared from '../../admin/operations/updates.ts';
import type { HierarchyStatusRow } from '../../admin/operations/downstream.ts';
import { ApiProblem } from '../../admin/problem.ts';
import { refuseIfReplica } from '../replica.ts';
import { withStore } from '../store.ts';
import { findGroup } from './groups.ts';
import { registerUpdateImport } from './update-import.ts';

/** What `--action` accepts, in the words of the WSUS console, and what it stores. */
const ACTIONS: Readonly<Record<string, Exclude<ApprovalAction, 'Block'>>> = {
  install: 'Install',
  uninstall: 'Uninstall',
  detect: 'PreDeploymentCheck',
};

/** Shared operations refuse with ApiProblems; on the command line they are messages (400 = usage). */
function cliError(error: unknown): unknown {
  return error instanceof ApiProblem ? new CliError(error.message, error.status === 400 ? 2 : 1) : error;
}

/** The newest revision of the update an administrator names by id or KB number (as the API resolves it). */
export async function resolveUpdate(store: Store, id: string): Promise<StoredRevision> {
  try {
    return await shared.resolveUpdate(store, id);
  } catch (error) {
    throw cliError(error);
  }
}

/** A deadline as ISO-8601 (a date is midnight UTC; a time without a zone is UTC, as WSUS stores deadlines). */
export function parseDeadline(text: string): string {
  try {
    return shared.parseDeadline(text);
  } catch (error) {
    throw cliError(error);
  }
}

function adminName(flag: string | undefined): string {
  return (flag ?? process.env.USER ?? process.env.USERNAME ?? '').trim() || 'openwsus';
}

const STATUS_BUCKETS = ['Installed', 'Needed', 'Failed', 'NotApplicable', 'Unknown'] as const;
type StatusBucket = (typeof STATUS_BUCKETS)[number];
/** The API's bucket names (admin/operations/updates.ts) as this command has always printed them. */
const BUCKET_NAMES: Readonly<Record<shared.StatusBucket, StatusBucket>> = { installed: 'Installed', needed: 'Needed', failed: 'Failed', notApplicable: 'NotApplicable', unknown: 'Unknown' };

export type UpdateStatusView = Awaited<ReturnType<typeof shared.updateStatus>>;

export function registerUpdates(program: Command): void {
  const updates = program.command('updates').description('approve, decline and list updates; see their status on computers');
  registerUpdateImport(updates);

  updates
    .command('approve')
    .description('approve the newest revision of an update for a group (a bundle brings its bundled updates)')
    .argument('<id>', 'update id (GUID) or KB number such as KB5070001')
    .requiredOption('--group <name>', 'the computer group')
    .requiredOption('--action <action>', 'install, uninstall or detect')
    .option('--deadline <time>', 'install by this time: 2026-12-01 or 2026-12-01T18:00Z (UTC unless a zone is given)')
    .option('--admin <name>', 'who approves (default: $USER)')
    .action(async (id: string, options: { group: string; action: string; deadline?: string; admin?: string }, command: Command) => {
      const context = commandContext(command);
      const action = ACTIONS[options.action.trim().toLowerCase()];
      if (action === undefined) throw new CliError(`--action must be one of ${Object.keys(ACTIONS).join(', ')}, got "${options.action}"`, 2);
      const deadline = options.deadline === undefined ? undefined : parseDeadline(options.deadline);
      if (deadline !== undefined && action === 'PreDeploymentCheck') throw new CliError('--deadline applies to install and uninstall approvals, not detect', 2);
      const remote = remoteClient(command);
      if (remote !== undefined) return (await import('../remote.ts')).remoteApprove(remote, id, { group: options.group, action, ...(deadline !== undefined && { deadline }) });
      const outcome = await withStore(context, async (store) => {
        await refuseIfReplica(store, 'change approvals');
        const group = findGroup(await store.groups.list(), options.group);
        // The checks and the write are the API's (admin/operations/updates.ts).
        try {
          const [result] = await shared.approveUpdates(store, { updates: [id], group, action, ...(deadline !== undefined && { deadline }), adminName: adminName(options.admin) });
          const revision = { key: { updateId: result!.updateId, revisionNumber: result!.revisionNumber }, title: result!.title };
          return { group, revision, changed: result!.outcome === 'changed' ? 1 : 0 };
        } catch (error) {
          throw cliError(error);
        }
      });
      const { revision, group } = outcome;
      const what = `${revision.key.updateId} rev ${revision.key.revisionNumber} ("${revision.title}")`;
      if (outcome.changed === 0) process.stdout.write(`already approved: ${what} for ${action} in "${group.name}"\n`);
      else process.stdout.write(`approved ${what} for ${action} in "${group.name}"${deadline !== undefined ? ` with deadline ${deadline}` : ''}\n`);
    });

  updates
    .command('unapprove')
    .description('take back the approval of an update for a group (WSUS "Not approved")')
    .argument('<id>', 'update id (GUID) or KB number')
    .requiredOption('--group <name>', 'the computer group')
    .action(async (id: string, options: { group: string }, command: Command) => {
      const context = commandContext(command);
      const remote = remoteClient(command);
      if (remote !== undefined) return (await import('../remote.ts')).remoteUnapprove(remote, id, options);
      const { result, group } = await withStore(context, async (store) => {
        await refuseIfReplica(store, 'change approvals');
        const group = findGroup(await store.groups.list(), options.group);
        const [result] = await shared.unapproveUpdates(store, [id], group).catch((error: unknown) => Promise.reject(cliError(error)));
        return { result: result!, group };
      });
      if (result.outcome !== 'changed') throw new CliError(`${result.updateId} ("${result.title}") is not approved for "${group.name}"`);
      process.stdout.write(`took back the approval of ${result.updateId} ("${result.title}") for "${group.name}"\n`);
    });

  updates
    .command('decline')
    .description('decline an update: it leaves every scan')
    .argument('<id>', 'update id (GUID) or KB number')
    .option('--admin <name>', 'who declines (default: $USER)')
    .action(async (id: string, options: { admin?: string }, command: Command) => {
      const context = commandContext(command);
      const remote = remoteClient(command);
      if (remote !== undefined) return (await import('../remote.ts')).remoteDecline(remote, id, {});
      const result = await withStore(context, async (store) => {
        await refuseIfReplica(store, 'decline updates');
        const [result] = await shared.declineUpdates(store, [id], adminName(options.admin)).catch((error: unknown) => Promise.reject(cliError(error)));
        return result!;
      });
      process.stdout.write(`${result.outcome === 'changed' ? 'declined' : 'already declined'}: ${result.updateId} ("${result.title}")\n`);
    });

  updates
    .command('reinstate')
    .description('take a decline back: the update is offered again, not approved (see updates list --declined)')
    .argument('<id>', 'update id (GUID) or KB number')
    .action(async (id: string, _options: unknown, command: Command) => {
      const context = commandContext(command);
      const remote = remoteClient(command);
      if (remote !== undefined) return (await import('../remote.ts')).remoteReinstate(remote, id);
      const result = await withStore(context, async (store) => {
        await refuseIfReplica(store, 'reinstate updates');
        const [result] = await shared.reinstateUpdates(store, [id]).catch((error: unknown) => Promise.reject(cliError(error)));
        return result!;
      });
      if (result.outcome !== 'changed') throw new CliError(`${result.updateId} ("${result.title}") is not declined (see openwsus updates list --declined)`);
      process.stdout.write(`reinstated: ${result.updateId} ("${result.title}") is not approved again\n`);
    });

  updates
    .command('list')
    .description('updates in the catalog (newest revision each), newest first, a page at a time')
    .option('--json', 'print as JSON')
    .option('--approved', 'only updates approved for some group')
    .option('--declined', 'only declined updates')
    .option('--classification <name>', 'only this classification, e.g. "Security Updates" (title or id)')
    .option('--text <text>', 'title containing this text, or this KB number')
    .option('--limit <n>', 'updates per page (default 50)', '50')
    .option('--offset <n>', 'skip this many (the next page starts at offset + limit)', '0')
    .action(
      async (
        options: { json?: boolean; approved?: boolean; declined?: boolean; classification?: string; text?: string; limit: string; offset: string },
        command: Command,
      ) => {
        const context = commandContext(command);
        const limit = integerFlag('--limit', options.limit, 1);
        if (limit > 1000) throw new CliError('--limit must be at most 1000', 2);
        const offset = integerFlag('--offset', options.offset, 0);
        const remote = remoteClient(command);
        if (remote !== undefined) return (await import('../remote.ts')).remoteUpdatesList(remote, { ...options, limit, offset });
        const { page, groups } = await withStore(context, async (store) => {
          if (options.classification !== undefined) {
            // A misspelt classification would list nothing; say which ones exist instead.
            const wanted = options.classification.trim().toLowerCase();
            const known = (await store.catalog.categories()).filter((c) => c.categoryType === 'UpdateClassification');
            if (!known.some((c) => c.title.toLowerCase() === wanted || c.updateId === wanted)) {
              const names = known.map((c) => c.title).sort();
              throw new CliError(`unknown classification "${options.classification}"; ${names.length > 0 ? `known: ${names.join(', ')}` : 'the catalog has none yet (synchronize first)'}`);
            }
          }
          return {
            page: await store.approvals.listUpdates({
              ...(options.approved ? { approved: true } : {}),
              ...(options.declined ? { declined: true } : {}),
              ...(options.classification !== undefined ? { classification: options.classification.trim() } : {}),
              ...(options.text !== undefined ? { text: options.text } : {}),
              limit,
              offset,
            }),
            groups: await store.groups.list(),
          };
        });
        const nameOf = new Map(groups.map((g) => [g.id, g.name]));
        const shown = page.updates.map((u) => ({
          updateId: u.updateId,
          revisionNumber: u.revisionNumber,
          title: u.title,
          kb: u.kbArticleId === undefined ? null : `KB${u.kbArticleId}`,
          classifications: u.classifications,
          severity: u.msrcSeverity ?? null,
          released: u.creationDate ?? null,
          declined: u.declined,
          approvals: u.approvals.map((a) => ({ group: nameOf.get(a.groupId) ?? a.groupId, action: a.action, deadline: a.deadline ?? null, admin: a.adminName })),
        }));
        if (options.json) {
          printJson({ total: page.total, offset, limit, updates: shown });
          return;
        }
        for (const u of shown) {
          const state = u.declined ? 'declined' : u.approvals.length > 0 ? u.approvals.map((a) => `${a.action} in ${a.group}`).join(', ') : 'not approved';
          process.stdout.write(`${u.updateId}  ${(u.kb ?? '').padEnd(10)}  ${u.title}\n    ${u.classifications.join(', ') || 'unclassified'}; ${state}\n`);
        }
        const end = offset + shown.length;
        if (page.total === 0) process.stdout.write('no updates match\n');
        else if (shown.length === 0) process.stdout.write(`no updates at --offset ${offset}: ${page.total} match\n`);
        else process.stdout.write(`${offset + 1}-${end} of ${page.total}${end < page.total ? ` (next page: --offset ${end})` : ''}\n`);
      },
    );

  updates
    .command('status')
    .description('how computers stand on an update: counts per status, then each computer')
    .argument('<id>', 'update id (GUID) or KB number')
    .option('--hierarchy', 'counts across the hierarchy instead: this server and every server below (rolled up)')
    .option('--json', 'print as JSON')
    .action(async (id: string, options: { json?: boolean; hierarchy?: boolean }, command: Command) => {
      const context = commandContext(command);
      const remote = remoteClient(command);
      if (remote !== undefined) return (await import('../remote.ts')).remoteUpdateStatus(remote, id, options);
      if (options.hierarchy) {
        const { hierarchyStatus } = await import('../../admin/operations/downstream.ts');
        const { revision, row } = await withStore(context, async (store) => {
          const revision = await resolveUpdate(store, id);
          return { revision, row: (await hierarchyStatus(store, revision.key.updateId))[0]! };
        });
        return printHierarchyStatus({ ...row, revisionNumber: revision.key.revisionNumber, title: revision.title }, options);
      }
      const status = await withStore(context, async (store) => shared.updateStatus(store, await resolveUpdate(store, id)));
      await printUpdateStatus(status, options);
    });
}

type HierarchyView = Omit<HierarchyStatusRow, 'title'> & { revisionNumber: number; title: string };

/** `updates status --hierarchy`: one update's counts over this server and every server below. */
export function printHierarchyStatus(view: HierarchyView, options: { json?: boolean }): void {
  if (options.json) return printJson(view);
  process.stdout.write(`${view.updateId} rev ${view.revisionNumber}  ${view.title}\n`);
  const line = (label: string, c: Record<string, number>) => `${label.padEnd(12)}  Installed ${c.Installed ?? 0}  Needed ${c.Needed ?? 0}  Failed ${c.Failed ?? 0}  NotApplicable ${c.NotApplicable ?? 0}\n`;
  process.stdout.write(line('hierarchy', { Installed: view.installed, Needed: view.needed, Failed: view.failed, NotApplicable: view.notApplicable }));
  process.stdout.write(line('this server', view.thisServer));
  process.stdout.write(line('below', view.downstream));
}

/** The status of one update as `updates status` shows it, from the API's shape (local or remote). */
export async function printUpdateStatus(status: UpdateStatusView, options: { json?: boolean }): Promise<void> {
  const { UPDATE_STATUSES } = await import('../../domain/client-event.ts');
  const counts = Object.fromEntries(STATUS_BUCKETS.map((b) => [b, 0])) as Record<StatusBucket, number>;
  // The seven statuses of DESIGN §3 beside the console's buckets: Unknown = never reported.
  const statuses = Object.fromEntries(UPDATE_STATUSES.map((s) => [s, 0])) as Record<string, number>;
  const computers = status.computers.map((c) => {
    const bucket = BUCKET_NAMES[c.status];
    // A computer whose report leaves the update out found it not applicable (event 156).
    const detail = c.detail ?? (bucket === 'Unknown' ? 'Unknown' : 'NotApplicable');
    counts[bucket]++;
    statuses[detail] = (statuses[detail] ?? 0) + 1;
    return { id: c.computerId, name: c.name, status: bucket, detail, changedAt: c.changedAt };
  });
  if (options.json) {
    printJson({ updateId: status.updateId, revisionNumber: status.revisionNumber, title: status.title, counts, statuses, computers });
    return;
  }
  process.stdout.write(`${status.updateId} rev ${status.revisionNumber}  ${status.title}\n`);
  process.stdout.write(`${STATUS_BUCKETS.map((b) => `${b} ${counts[b]}`).join('  ')}\n`);
  for (const c of computers) process.stdout.write(`  ${c.name.padEnd(32)}  ${c.status}${c.detail !== c.status ? ` (${c.detail})` : ''}\n`);
}
