// `openwsus computers`: the computers that scan against this server, and placing them in groups
// (server-side targeting) until the administration API takes it over.
import type { Command } from 'commander';
import type { Computer } from '../../domain/computer.ts';
import type { Store } from '../../store/index.ts';
import { CliError, commandContext, printJson } from '../context.ts';
import { remoteClient } from '../api-client.ts';
import { refuseIfReplica } from '../replica.ts';
import { withStore } from '../store.ts';
import { findGroup } from './groups.ts';

function osText(c: { osDescription?: string; osMajor?: number; osMinor?: number; osBuild?: number }): string {
  if (c.osDescription !== undefined) return c.osDescription;
  if (c.osMajor === undefined) return '';
  return [c.osMajor, c.osMinor, c.osBuild].filter((n) => n !== undefined).join('.');
}

/** The one computer an administrator names by DNS name, host name or id. */
async function findComputer(store: Store, name: string): Promise<Computer> {
  const found = await store.computers.findByName(name);
  if (found.length === 0) throw new CliError(`unknown computer "${name}" (see openwsus computers list)`);
  if (found.length > 1) throw new CliError(`more than one computer matches "${name}": give the full name or id (${found.map((c) => `${c.dnsName} ${c.id}`).join(', ')})`);
  return found[0]!;
}

export function registerComputers(program: Command): void {
  const computers = program.command('computers').description('computers that scan against this server, and their groups');

  computers
    .command('list')
    .description('name, address, OS, groups, last sync and last report of every computer')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const context = commandContext(command);
      const remote = remoteClient(command);
      if (remote !== undefined) return (await import('../remote.ts')).remoteComputersList(remote, options);
      const rows = await withStore(context, async (store) => {
        const [list, groups, counts] = await Promise.all([store.computers.list(), store.groups.list(), store.clientEvents.statusCountsByComputer()]);
        const nameOf = new Map(groups.map((g) => [g.id, g.name]));
        return list.map((c) => {
          const n = counts.get(c.id) ?? {};
          return {
            id: c.id,
            name: c.dnsName,
            ipAddress: c.ipAddress ?? null,
            os: osText(c) || null,
            make: c.manufacturer ?? null,
            model: c.model ?? null,
            groups: c.groupIds.map((g) => nameOf.get(g) ?? g),
            lastSyncAt: c.lastSyncAt ?? null,
            lastReportAt: c.lastReportAt ?? null,
            // WSUS's "needed" counts what is applicable and not yet installed.
            updates: {
              installed: (n.Installed ?? 0) + (n.InstalledPendingReboot ?? 0),
              needed: (n.NotInstalled ?? 0) + (n.Downloaded ?? 0),
              failed: n.Failed ?? 0,
            },
          };
        });
      });
      if (options.json) {
        printJson(rows);
        return;
      }
      if (rows.length === 0) {
        process.stdout.write('no computers yet: point Windows Update clients at this server (WUServer policy)\n');
        return;
      }
      const table = [
        ['NAME', 'IP', 'OS', 'GROUPS', 'LAST SYNC', 'LAST REPORT', 'NEEDED', 'FAILED'],
        ...rows.map((r) => [r.name, r.ipAddress ?? '-', r.os ?? '-', r.groups.join(', ') || '-', r.lastSyncAt ?? 'never', r.lastReportAt ?? 'never', String(r.updates.needed), String(r.updates.failed)]),
      ];
      const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
      for (const row of table) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
    });

  computers
    .command('delete')
    .description('forget a computer with its statuses and events (it comes back as new if it contacts the server again)')
    .argument('<name>', 'the computer: DNS name, host name or id')
    .action(async (name: string, _options: unknown, command: Command) => {
      const context = commandContext(command);
      const remote = remoteClient(command);
      if (remote !== undefined) return (await import('../remote.ts')).remoteComputerDelete(remote, name);
      const { audit } = await import('./accounts.ts');
      const computer = await withStore(context, async (store) => {
        // Allowed on a replica: computers are the server's own there too (see docs/administration.md).
        const computer = await findComputer(store, name);
        if (!(await store.computers.delete(computer.id))) throw new CliError(`computer "${name}" was removed meanwhile`);
        await audit(store, 'computers.delete', computer.dnsName, { computerId: computer.id, groupIds: computer.groupIds });
        return computer;
      });
      process.stdout.write(`deleted computer ${computer.dnsName} (${computer.id})\n`);
    });

  computers
    .command('move')
    .description('put a computer in a group (server-side targeting); it leaves its other groups')
    .argument('<name>', 'the computer: DNS name, host name or id')
    .requiredOption('--group <name>', 'the group to move it to')
    .action(async (name: string, options: { group: string }, command: Command) => {
      const context = commandContext(command);
      const remote = remoteClient(command);
      if (remote !== undefined) return (await import('../remote.ts')).remoteComputerMove(remote, name, options);
      const { ALL_COMPUTERS_GROUP_ID } = await import('../../domain/wellknown.ts');
      const { CLIENT_SETTING_KEYS } = await import('../../domain/computer.ts');
      const { computer, group, mode } = await withStore(context, async (store) => {
        await refuseIfReplica(store, 'move computers between groups');
        const group = findGroup(await store.groups.list(), options.group);
        // Every computer is in All Computers already; "moving" there would mean no group at all.
        if (group.id === ALL_COMPUTERS_GROUP_ID) throw new CliError('every computer is in All Computers: choose another --group (Unassigned Computers to ungroup it)');
        const computer = await findComputer(store, name);
        if (!(await store.computers.setGroups(computer.id, [group.id]))) throw new CliError(`computer "${name}" was removed meanwhile`);
        return { computer, group, mode: await store.settings.get(CLIENT_SETTING_KEYS.targetingMode) };
      });
      process.stdout.write(`moved ${computer.dnsName} to "${group.name}"\n`);
      // The agent's own TargetGroup policy wins at its next contact when clients target themselves.
      if (mode === 'client') process.stderr.write(`openwsus: note: ${CLIENT_SETTING_KEYS.targetingMode} is "client": the computer's TargetGroup policy replaces this at its next contact\n`);
    });
}
