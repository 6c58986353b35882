// `openwsus groups`: the computer group tree (WSUS "Computers" node) until the administration API
// takes it over. Names are what administrators type, so names are unique across the tree here.
import type { Command } from 'commander';
import type { ComputerGroup } from '../../domain/deployment.ts';
import { CliError, commandContext, printJson } from '../context.ts';
import { remoteClient } from '../api-client.ts';
import { refuseIfReplica } from '../replica.ts';
import { withStore } from '../store.ts';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The group an administrator names (or gives the id of), or an error listing the known names. */
export function findGroup(groups: readonly ComputerGroup[], name: string): ComputerGroup {
  const wanted = name.trim().toLowerCase();
  if (GUID.test(wanted)) {
    const byId = groups.find((g) => g.id === wanted);
    if (byId !== undefined) return byId;
  }
  const matches = groups.filter((g) => g.name.toLowerCase() === wanted);
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    // Client-side targeting may create groups of one name under different parents.
    throw new CliError(`more than one group is named "${name}": give its id instead (${matches.map((g) => g.id).join(', ')})`);
  }
  throw new CliError(`unknown group "${name}"; known groups: ${groups.map((g) => g.name).join(', ')} (see openwsus groups list)`);
}

export function registerGroups(program: Command): void {
  const groups = program.command('groups').description('computer groups: create, list (as a tree) and delete');

  groups
    .command('create')
    .description('create a computer group (top-level groups hang under All Computers)')
    .argument('<name>', 'the new group name, unique across the tree')
    .option('--parent <name>', 'the group to create it under (default: All Computers)')
    .action(async (name: string, options: { parent?: string }, command: Command) => {
      const context = commandContext(command);
      const trimmed = name.trim();
      if (trimmed === '' || trimmed.length > 256) throw new CliError('a group name must be 1 to 256 characters', 2);
      const remote = remoteClient(command);
      if (remote !== undefined) return (await import('../remote.ts')).remoteGroupCreate(remote, trimmed, options);
      const { ALL_COMPUTERS_GROUP_ID, UNASSIGNED_COMPUTERS_GROUP_ID } = await import('../../domain/wellknown.ts');
      const { randomUUID } = await import('node:crypto');
      const created = await withStore(context, async (store) => {
        await refuseIfReplica(store, 'create groups');
        const all = await store.groups.list();
        const parent = options.parent === undefined ? all.find((g) => g.id === ALL_COMPUTERS_GROUP_ID)! : findGroup(all, options.parent);
        if (parent.id === UNASSIGNED_COMPUTERS_GROUP_ID) throw new CliError('Unassigned Computers cannot have subgroups: choose another --parent');
        const clash = all.find((g) => g.name.toLowerCase() === trimmed.toLowerCase());
        if (clash !== undefined) throw new CliError(`a group named "${clash.name}" already exists: choose another name`);
        return { group: await store.groups.create({ id: randomUUID(), name: trimmed, parentId: parent.id }), parent };
      });
      process.stdout.write(`created group "${created.group.name}" (${created.group.id}) under "${created.parent.name}"\n`);
    });

  groups
    .command('list')
    .description('the group tree with how many computers each holds')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const context = commandContext(command);
      const remote = remoteClient(command);
      if (remote !== undefined) return (await import('../remote.ts')).remoteGroupsList(remote, options);
      // The tree with counts, as the API lists it (admin/operations/groups.ts).
      const { groupRows } = await import('../../admin/operations/groups.ts');
      const rows = await withStore(context, groupRows);
      if (options.json) {
        printJson(rows.map(({ depth: _depth, ...r }) => r));
        return;
      }
      const table = [
        ['GROUP', 'COMPUTERS', 'WITH SUBGROUPS', 'ID'],
        ...rows.map((r) => [`${'  '.repeat(r.depth)}${r.name}`, String(r.computers), String(r.computersInTree), `${r.id}${r.builtin ? ' (built in)' : ''}`]),
      ];
      const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
      // Counts right-aligned, names indented by depth as the WSUS console draws the tree.
      for (const row of table) {
        const cells = row.map((cell, i) => (i === 1 || i === 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)));
        process.stdout.write(`${cells.join('  ').trimEnd()}\n`);
      }
    });

  groups
    .command('delete')
    .description('delete an empty group (no subgroups, no computers); its approvals go with it')
    .argument('<name>', 'the group name or id')
    .action(async (name: string, _options: unknown, command: Command) => {
      const context = commandContext(command);
      const remote = remoteClient(command);
      if (remote !== undefined) return (await import('../remote.ts')).remoteGroupDelete(remote, name);
      const { group, result } = await withStore(context, async (store) => {
        await refuseIfReplica(store, 'delete groups');
        const group = findGroup(await store.groups.list(), name);
        return { group, result: await store.groups.delete(group.id) };
      });
      if (!result.deleted) throw new CliError(`cannot delete group: ${result.message}`);
      const approvals = result.approvalsRemoved > 0 ? ` and its ${result.approvalsRemoved} approval(s)` : '';
      process.stdout.write(`deleted group "${group.name}"${approvals}\n`);
    });
}
