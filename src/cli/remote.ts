// The admin commands run against a server's API (`--server URL --token TOKEN`) instead of the
// database: names are resolved through the API as the local commands resolve them, and the
// output has the same shape (with --json, the API's own JSON).
import type { ApiClient } from './api-client.ts';
import { readEvents } from './api-client.ts';
import { CliError, printJson } from './context.ts';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KB = /^(?:kb)?(\d{1,10})$/i;

interface GroupRow {
  id: string;
  name: string;
  parentId: string | null;
  builtin: boolean;
  computers: number;
  computersInTree: number;
}

async function groups(api: ApiClient): Promise<GroupRow[]> {
  return (await api.request<{ groups: GroupRow[] }>('GET', '/groups')).groups;
}

/** A group by name or id, as `findGroup` does locally. */
async function findGroup(api: ApiClient, name: string): Promise<GroupRow> {
  const all = await groups(api);
  const wanted = name.trim().toLowerCase();
  const byId = all.find((g) => g.id === wanted);
  if (byId !== undefined) return byId;
  const matches = all.filter((g) => g.name.toLowerCase() === wanted);
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new CliError(`more than one group is named "${name}": give its id instead (${matches.map((g) => g.id).join(', ')})`);
  throw new CliError(`unknown group "${name}"; known groups: ${all.map((g) => g.name).join(', ')}`);
}

/** An update id from an id or a KB number. */
async function updateId(api: ApiClient, id: string): Promise<string> {
  const text = id.trim();
  if (GUID.test(text)) return text.toLowerCase();
  const kb = KB.exec(text)?.[1];
  if (kb === undefined) throw new CliError(`"${id}" is neither an update id (a GUID) nor a KB number such as KB5070001`, 2);
  const page = await api.request<{ updates: { updateId: string; title: string }[] }>('GET', '/updates', undefined, { kb, limit: 50 });
  if (page.updates.length === 0) throw new CliError(`unknown update: no update in the catalog has KB${kb}`);
  if (page.updates.length > 1) throw new CliError(`KB${kb} is ambiguous: ${page.updates.length} updates carry it; give the update id of one of them:\n${page.updates.map((u) => `  ${u.updateId}  ${u.title}`).join('\n')}`);
  return page.updates[0]!.updateId;
}

export async function remoteUpdatesList(
  api: ApiClient,
  o: { json?: boolean; approved?: boolean; declined?: boolean; classification?: string; text?: string; limit: number; offset: number },
): Promise<void> {
  const page = await api.request('GET', '/updates', undefined, {
    limit: o.limit,
    offset: o.offset,
    ...(o.approved && { approval: 'approved' }),
    ...(o.declined && { declined: true }),
    classification: o.classification,
    text: o.text,
  });
  if (o.json) return printJson(page);
  for (const u of page.updates as { updateId: string; kb: string | null; title: string; classifications: string[]; declined: boolean; approvals: { action: string; group: string }[] }[]) {
    const state = u.declined ? 'declined' : u.approvals.length > 0 ? u.approvals.map((a) => `${a.action} in ${a.group}`).join(', ') : 'not approved';
    process.stdout.write(`${u.updateId}  ${(u.kb ?? '').padEnd(10)}  ${u.title}\n    ${u.classifications.join(', ') || 'unclassified'}; ${state}\n`);
  }
  const end = o.offset + page.updates.length;
  if (page.total === 0) process.stdout.write('no updates match\n');
  else if (page.updates.length === 0) process.stdout.write(`no updates at --offset ${o.offset}: ${page.total} match\n`);
  else process.stdout.write(`${o.offset + 1}-${end} of ${page.total}${end < page.total ? ` (next page: --offset ${end})` : ''}\n`);
}

export async function remoteApprove(api: ApiClient, id: string, o: { group: string; action: string; deadline?: string; json?: boolean }): Promise<void> {
  const group = await findGroup(api, o.group);
  const result = await api.request('POST', '/updates/approve', { updateIds: [await updateId(api, id)], groupId: group.id, action: o.action, ...(o.deadline !== undefined && { deadline: o.deadline }) });
  if (o.json) return printJson(result);
  const r = result.results[0];
  process.stdout.write(`${r.outcome === 'changed' ? 'approved' : 'already approved:'} ${r.updateId} ("${r.title}") for ${o.action} in "${group.name}"${o.deadline !== undefined ? ` with deadline ${o.deadline}` : ''}\n`);
}

export async function remoteDecline(api: ApiClient, id: string, o: { json?: boolean }): Promise<void> {
  const result = await api.request('POST', '/updates/decline', { updateIds: [await updateId(api, id)] });
  if (o.json) return printJson(result);
  const r = result.results[0];
  process.stdout.write(`${r.outcome === 'changed' ? 'declined' : 'already declined'}: ${r.updateId} ("${r.title}")\n`);
}

export async function remoteUnapprove(api: ApiClient, id: string, o: { group: string }): Promise<void> {
  const group = await findGroup(api, o.group);
  const result = await api.request('POST', '/updates/unapprove', { updateIds: [await updateId(api, id)], groupId: group.id });
  const r = result.results[0];
  if (r.outcome !== 'changed') throw new CliError(`${r.updateId} ("${r.title}") is not approved for "${group.name}"`);
  process.stdout.write(`took back the approval of ${r.updateId} ("${r.title}") for "${group.name}"\n`);
}

export async function remoteReinstate(api: ApiClient, id: string): Promise<void> {
  const result = await api.request('POST', '/updates/reinstate', { updateIds: [await updateId(api, id)] });
  const r = result.results[0];
  if (r.outcome !== 'changed') throw new CliError(`${r.updateId} ("${r.title}") is not declined (see openwsus updates list --declined)`);
  process.stdout.write(`reinstated: ${r.updateId} ("${r.title}") is not approved again\n`);
}

export async function remoteUpdateStatus(api: ApiClient, id: string, o: { json?: boolean; hierarchy?: boolean }): Promise<void> {
  const wanted = await updateId(api, id);
  if (o.hierarchy) {
    const update = await api.request('GET', `/updates/${wanted}`);
    const { printHierarchyStatus } = await import('./commands/updates.ts');
    return printHierarchyStatus({ ...update.hierarchyStatus, updateId: update.updateId, revisionNumber: update.revisionNumber, title: update.title }, o);
  }
  const [update, status] = await Promise.all([api.request('GET', `/updates/${wanted}`), api.request('GET', `/updates/${wanted}/status`)]);
  const { printUpdateStatus } = await import('./commands/updates.ts');
  await printUpdateStatus({ ...status, revisionNumber: update.revisionNumber, title: update.title }, o);
}

export async function remoteGroupsList(api: ApiClient, o: { json?: boolean }): Promise<void> {
  const rows = await groups(api);
  if (o.json) return printJson(rows);
  const depth = (g: GroupRow): number => {
    let d = 0;
    for (let p = g.parentId; p !== null && d < 64; p = rows.find((r) => r.id === p)?.parentId ?? null) d++;
    return d;
  };
  for (const g of rows) process.stdout.write(`${'  '.repeat(depth(g))}${g.name}  ${g.computers}  ${g.computersInTree}  ${g.id}${g.builtin ? ' (built in)' : ''}\n`);
}

export async function remoteGroupCreate(api: ApiClient, name: string, o: { parent?: string }): Promise<void> {
  const parent = o.parent === undefined ? undefined : await findGroup(api, o.parent);
  const created = await api.request('POST', '/groups', { name, ...(parent !== undefined && { parentId: parent.id }) });
  process.stdout.write(`created group "${created.name}" (${created.id})${parent !== undefined ? ` under "${parent.name}"` : ''}\n`);
}

export async function remoteGroupDelete(api: ApiClient, name: string): Promise<void> {
  const group = await findGroup(api, name);
  await api.request('DELETE', `/groups/${group.id}`);
  process.stdout.write(`deleted group "${group.name}"\n`);
}

async function allComputers(api: ApiClient, query: Record<string, string | undefined> = {}): Promise<any[]> {
  const out: any[] = [];
  for (let offset = 0; ; offset += 500) {
    const page = await api.request('GET', '/computers', undefined, { limit: 500, offset, ...query });
    out.push(...page.computers);
    if (out.length >= page.total || page.computers.length === 0) return out;
  }
}

export async function remoteComputersList(api: ApiClient, o: { json?: boolean }): Promise<void> {
  const rows = (await allComputers(api)).map((c) => ({ ...c, groups: c.groups.map((g: { name: string }) => g.name) }));
  if (o.json) return printJson(rows);
  if (rows.length === 0) return void process.stdout.write('no computers yet: point Windows Update clients at this server (WUServer policy)\n');
  for (const r of rows) {
    process.stdout.write(`${r.name}  ${r.ipAddress ?? '-'}  ${r.os ?? '-'}  ${r.groups.join(', ') || '-'}  ${r.lastSyncAt ?? 'never'}  ${r.lastReportAt ?? 'never'}  ${r.updates.needed}  ${r.updates.failed}\n`);
  }
}

/** The one computer an administrator names by DNS name, host name or id, as `findByName` does locally. */
async function findComputer(api: ApiClient, name: string): Promise<any> {
  const wanted = name.trim().toLowerCase();
  const found = (await allComputers(api, { text: wanted.split('.')[0] })).filter((c) => c.id === wanted || c.name.toLowerCase() === wanted || c.name.toLowerCase().startsWith(`${wanted}.`));
  const exact = found.filter((c) => c.id === wanted || c.name.toLowerCase() === wanted);
  const chosen = exact.length > 0 ? exact : found;
  if (chosen.length === 0) throw new CliError(`unknown computer "${name}" (see openwsus computers list)`);
  if (chosen.length > 1) throw new CliError(`more than one computer matches "${name}": give the full name or id (${chosen.map((c) => `${c.name} ${c.id}`).join(', ')})`);
  return chosen[0];
}

export async function remoteComputerMove(api: ApiClient, name: string, o: { group: string }): Promise<void> {
  const group = await findGroup(api, o.group);
  const computer = await findComputer(api, name);
  await api.request('PUT', `/computers/${encodeURIComponent(computer.id)}/group`, { groupId: group.id });
  process.stdout.write(`moved ${computer.name} to "${group.name}"\n`);
}

export async function remoteComputerDelete(api: ApiClient, name: string): Promise<void> {
  const computer = await findComputer(api, name);
  await api.request('DELETE', `/computers/${encodeURIComponent(computer.id)}`);
  process.stdout.write(`deleted computer ${computer.name} (${computer.id})\n`);
}

export async function remoteConfigGet(api: ApiClient, key: string | undefined, o: { json?: boolean }): Promise<void> {
  const rows = key === undefined ? (await api.request('GET', '/settings')).settings : [await api.request('GET', `/settings/${encodeURIComponent(key)}`)];
  if (o.json) return printJson(key === undefined ? Object.fromEntries(rows.map((r: { key: string; value: unknown }) => [r.key, r.value ?? null])) : (rows[0].value ?? null));
  const show = (v: unknown): string => (v === null || v === undefined ? '(not set)' : Array.isArray(v) ? v.join(',') : String(v));
  if (key !== undefined) return void process.stdout.write(`${show(rows[0].value)}\n`);
  const width = Math.max(...rows.map((r: { key: string }) => r.key.length));
  for (const r of rows) process.stdout.write(`${r.key.padEnd(width)}  ${show(r.value)}${r.isDefault && r.value !== null ? '  (default)' : ''}\n`);
}

/** Several settings at once, all or none, as `config set K V [K V…]` does locally. */
export async function remoteConfigSet(api: ApiClient, values: Record<string, unknown>): Promise<void> {
  const { settings } = await api.request('PATCH', '/settings', values);
  for (const key of Object.keys(values)) {
    const set = settings.find((s: { key: string }) => s.key === key);
    process.stdout.write(`${key} = ${Array.isArray(set?.value) ? set.value.join(',') : String(set?.value)}\n`);
  }
}

/** Starts a synchronization on the server and follows its progress to the end. */
export async function remoteSync(api: ApiClient, o: { json?: boolean }): Promise<void> {
  const started = await api.request('POST', '/sync');
  const runId = started.run?.id;
  const stream = await api.stream('/sync/events');
  let phase = '';
  let end: any;
  await readEvents(stream, (event, data: any) => {
    if (event === 'progress' && data.phase !== phase && !o.json) {
      phase = data.phase;
      process.stderr.write(`sync: ${phase}\n`);
    }
    if (event === 'end') end = data;
  });
  // The run may have ended before the stream opened: its record says how.
  const run = end?.run?.id === runId ? end.run : await api.request('GET', `/sync/runs/${runId}`);
  if (o.json) printJson(run);
  else process.stdout.write(`run ${run.id} ${run.result}: ${run.counts.newRevisions} new, ${run.counts.revisedRevisions} revised, ${run.counts.expiredRevisions} expired, ${run.counts.categories} categories\n`);
  if (run.result !== 'succeeded') throw new CliError(`synchronization ${run.result}${run.error ? `: ${run.error}` : ''}`);
}

export async function remoteSyncStatus(api: ApiClient, o: { json?: boolean; limit: number }): Promise<void> {
  const { runs } = await api.request('GET', '/sync/runs', undefined, { limit: o.limit });
  if (o.json) return printJson(runs);
  if (runs.length === 0) return void process.stdout.write('no synchronization has run yet\n');
  for (const r of runs) {
    const c = r.counts;
    process.stdout.write(`#${r.id} ${r.startedAt} ${r.result}${r.result === 'running' ? ` (${r.phase})` : ''}: ${c.newRevisions} new, ${c.revisedRevisions} revised, ${c.expiredRevisions} expired, ${c.categories} categories${r.endedAt ? `, ended ${r.endedAt}` : ''}${r.error ? `\n    error: ${r.error}` : ''}\n`);
  }
}
