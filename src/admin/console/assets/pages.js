// The console's pages, as the WSUS console has them: Overview, Updates, Computers, Downstream
// servers, Synchronizations, Reports, Options, and Accounts. Each renders into `root` from the API;
// every change goes through the API, which refuses what the account or a replica may not do.
import { API, api, attempt, count, field, h, notify, pager, query, select, statusChart, table, when, STATUS_LABELS } from './ui.js';

const PAGE_SIZE = 50;

// Setting the hash to what it is fires no hashchange: the page is rendered again by hand then.
function navigate(hash, refresh) {
  if (location.hash === hash) refresh();
  else location.hash = hash;
}

function heading(root, title, ...extra) {
  root.replaceChildren(h('h1', {}, title), ...extra.filter((part) => part !== null && part !== undefined));
}

function replicaNotice(server) {
  return server.replica
    ? h('p', { class: 'notice-replica', 'data-testid': 'replica-notice' }, `This server is a replica of ${server.upstream ?? 'its upstream server'}: approvals, declines and computer groups come from it and cannot be changed here.`)
    : null;
}

function readOnlyNotice(isAdmin) {
  return isAdmin ? null : h('p', { class: 'notice-readonly', 'data-testid': 'readonly-notice' }, 'You are signed in as a Reporter: you can look at everything and change nothing.');
}

function resultBadge(result) {
  const kind = result === 'succeeded' ? 'ok' : result === 'failed' ? 'bad' : 'warn';
  return h('span', { class: `badge ${kind}` }, result);
}

// ---- Overview -----------------------------------------------------------------------------------

async function overview({ root }) {
  const [data, warnings] = await Promise.all([api('GET', '/overview'), api('GET', '/warnings')]);
  const card = (label, value) => h('div', { class: 'card' }, h('div', { class: 'value' }, count(value)), h('div', { class: 'label' }, label));
  const last = data.sync.run;
  heading(
    root,
    'Overview',
    h(
      'div',
      { class: 'cards' },
      card('Updates', data.counts.updates),
      card('Approved', data.counts.approved),
      card('Declined', data.counts.declined),
      card('Computers', data.counts.computers),
      card('Computer groups', data.counts.groups),
      card('Downstream servers', data.counts.downstreamServers),
    ),
    h(
      'section',
      { class: 'card', 'aria-label': 'Synchronization' },
      h('h2', {}, 'Synchronization'),
      data.sync.running
        ? h('p', {}, 'A synchronization is running. ', h('a', { href: '#/sync' }, 'Watch it'))
        : last
          ? h('p', {}, 'Last synchronization: ', resultBadge(last.result), ` ${when(last.endedAt ?? last.startedAt)}`, last.error ? h('span', { class: 'problem' }, ` — ${last.error}`) : null)
          : h('p', {}, 'Never synchronized. ', h('a', { href: '#/sync' }, 'Synchronize now')),
      h('p', { class: 'muted' }, `Next automatic synchronization: ${data.sync.nextSyncAt ? when(data.sync.nextSyncAt) : 'none (manual)'}`),
    ),
    h('section', { class: 'card' }, h('h2', {}, 'Computer status across all updates'), statusChart(data.status, 'Computer status across all updates')),
    h(
      'section',
      { class: 'card', 'aria-label': 'Warnings' },
      h('h2', {}, `Warnings (${warnings.warnings.length})`),
      warnings.warnings.length === 0
        ? h('p', { class: 'muted' }, 'No warnings.')
        : h('ul', { 'data-testid': 'warnings' }, warnings.warnings.map((w) => h('li', {}, h('strong', {}, w.kind), ` ${w.message}`))),
    ),
  );
}

// ---- Updates ------------------------------------------------------------------------------------

async function updates({ root, params, canApprove, isAdmin, server, refresh }) {
  const filters = {
    text: params.get('text') ?? '',
    classification: params.get('classification') ?? '',
    approval: params.get('approval') ?? 'any',
    status: params.get('status') ?? 'any',
    declined: params.get('declined') ?? 'false',
    offset: Number(params.get('offset') ?? 0),
  };
  const go = (changes) => {
    const next = { ...filters, ...changes };
    navigate(`#/updates${query({ ...next, offset: next.offset || undefined, approval: next.approval === 'any' ? undefined : next.approval, status: next.status === 'any' ? undefined : next.status })}`, refresh);
  };
  const [page, groups, categories] = await Promise.all([
    api('GET', `/updates${query({ limit: PAGE_SIZE, offset: filters.offset, text: filters.text, classification: filters.classification, approval: filters.approval, status: filters.status, declined: filters.declined === 'all' ? undefined : filters.declined })}`),
    api('GET', '/groups'),
    api('GET', '/categories'),
  ]);

  const text = h('input', { type: 'search', value: filters.text, placeholder: 'title or KB' });
  const classification = select([['', 'Any'], ...categories.classifications.map((c) => [c.title, c.title])], filters.classification);
  const approval = select([['any', 'Any'], ['approved', 'Approved'], ['unapproved', 'Not approved']], filters.approval);
  const status = select([['any', 'Any'], ['needed', 'Needed by some computer'], ['failed', 'Failed on some computer'], ['installed', 'Installed'], ['no-status', 'No status']], filters.status);
  const declined = select([['false', 'Not declined'], ['true', 'Declined'], ['all', 'All']], filters.declined);
  const filterForm = h(
    'form',
    {
      class: 'card row',
      role: 'search',
      'aria-label': 'Filter updates',
      onsubmit: (e) => {
        e.preventDefault();
        go({ text: text.value.trim(), classification: classification.value, approval: approval.value, status: status.value, declined: declined.value, offset: 0 });
      },
    },
    field('Text or KB', text),
    field('Classification', classification),
    field('Approval', approval),
    field('Status', status),
    field('Declined', declined),
    h('button', { type: 'submit' }, 'Apply'),
  );

  const chosen = new Set();
  const details = h('div', { 'data-testid': 'update-details' });
  const rows = page.updates;
  const approvalsText = (u) => (u.approvals.length === 0 ? 'Not approved' : u.approvals.map((a) => `${a.action === 'PreDeploymentCheck' ? 'Detect only' : a.action} for ${a.group}${a.deadline ? ` by ${when(a.deadline)}` : ''}`).join('; '));
  const list = table(
    [
      {
        title: h('span', { class: 'muted' }, 'Select'),
        value: (u) =>
          h('input', {
            type: 'checkbox',
            'aria-label': `Select ${u.title}`,
            onchange: (e) => {
              if (e.target.checked) chosen.add(u.updateId);
              else chosen.delete(u.updateId);
              e.target.closest('tr').classList.toggle('selected', e.target.checked);
              syncButtons();
            },
          }),
      },
      { title: 'Title', value: (u) => h('button', { type: 'button', class: 'linklike', onclick: () => showUpdate(details, u.updateId) }, u.title) },
      { title: 'KB', value: (u) => (u.kb ? (/^kb/i.test(u.kb) ? u.kb : `KB${u.kb}`) : '') },
      { title: 'Classification', value: (u) => u.classifications.join(', ') },
      { title: 'Released', value: (u) => (u.released ? new Date(u.released).toLocaleDateString() : '') },
      { title: 'Approval', value: (u) => (u.declined ? h('span', { class: 'badge bad' }, 'Declined') : approvalsText(u)) },
    ],
    rows,
    { empty: 'No update matches these filters.', rowAttrs: (u) => ({ 'data-update-id': u.updateId }) },
  );

  const groupChoice = select(groups.groups.map((g) => [g.id, g.name]), groups.groups.find((g) => !g.builtin)?.id ?? groups.groups[0]?.id, { name: 'group' });
  const action = select([['Install', 'Install'], ['PreDeploymentCheck', 'Detect only'], ['Uninstall', 'Uninstall']], 'Install', { name: 'action' });
  const deadline = h('input', { type: 'datetime-local', name: 'deadline' });
  const approveButton = h('button', { type: 'submit' }, 'Approve');
  const unapproveButton = h('button', { type: 'button', class: 'secondary' }, 'Remove approval');
  const declineButton = h('button', { type: 'button', class: 'danger' }, 'Decline');
  const controls = [groupChoice, action, deadline, approveButton, unapproveButton, declineButton];
  const syncButtons = () => {
    for (const c of controls) c.disabled = !canApprove || (chosen.size === 0 && c.tagName === 'BUTTON');
  };
  const afterChange = (verb) => (result) => {
    const changed = result.results.filter((r) => r.outcome === 'changed').length;
    return `${verb} ${changed} of ${result.results.length} update(s).`;
  };
  const approveForm = h(
    'form',
    {
      class: 'card',
      'aria-label': 'Approve selected updates',
      onsubmit: async (e) => {
        e.preventDefault();
        const body = { updateIds: [...chosen], groupId: groupChoice.value, action: action.value };
        if (deadline.value) body.deadline = new Date(deadline.value).toISOString();
        if ((await attempt(() => api('POST', '/updates/approve', body), afterChange('Approved'))) !== undefined) go({});
      },
    },
    h('h2', {}, 'Approve or decline the selected updates'),
    replicaNotice(server),
    readOnlyNotice(isAdmin),
    h('div', { class: 'row' }, field('Computer group', groupChoice), field('Action', action), field('Deadline (optional)', deadline), approveButton, unapproveButton, declineButton),
  );
  unapproveButton.addEventListener('click', async () => {
    if ((await attempt(() => api('POST', '/updates/unapprove', { updateIds: [...chosen], groupId: groupChoice.value }), afterChange('Took back the approval of'))) !== undefined) go({});
  });
  declineButton.addEventListener('click', async () => {
    if ((await attempt(() => api('POST', '/updates/decline', { updateIds: [...chosen] }), afterChange('Declined'))) !== undefined) go({});
  });
  syncButtons();

  heading(root, 'Updates', filterForm, approveForm, pager(page, (offset) => go({ offset })), list, details);
}

async function showUpdate(container, updateId) {
  const u = await attempt(() => api('GET', `/updates/${updateId}`));
  if (u === undefined) return;
  container.replaceChildren(
    h(
      'section',
      { class: 'card', 'aria-label': `Details of ${u.title}` },
      h('h2', {}, u.title),
      u.description ? h('p', {}, u.description) : null,
      h('p', { class: 'muted' }, `Update ${u.updateId}, revision ${u.revisionNumber}; ${u.updateType}; ${u.classifications.join(', ')}; products: ${u.products.join(', ') || '–'}`),
      statusChart({ installed: u.status.installed, needed: u.status.needed, failed: u.status.failed, notApplicable: u.status.notApplicable, unknown: u.status.unknown }, `Status of ${u.title}`),
      h('h2', {}, 'Files'),
      table([{ title: 'Name', value: (f) => f.name }, { title: 'Size', value: (f) => count(f.size), num: true }, { title: 'State', value: (f) => f.state }], u.files, { empty: 'No files.' }),
      h('h2', {}, 'Supersedence'),
      h('p', {}, `Supersedes: ${u.supersedes.map((s) => s.title ?? s.updateId).join(', ') || 'nothing'}`),
      h('p', {}, `Superseded by: ${u.supersededBy.map((s) => s.title).join(', ') || 'nothing'}`),
      h('h2', {}, 'Revisions'),
      h('p', {}, u.revisions.map((r) => `${r.revisionNumber}${r.isLatest ? ' (latest)' : ''}`).join(', ')),
    ),
  );
  container.scrollIntoView({ block: 'nearest' });
}

// ---- Computers ----------------------------------------------------------------------------------

async function computers({ root, params, canApprove, isAdmin, server, refresh }) {
  const groupId = params.get('group') ?? '';
  const offset = Number(params.get('offset') ?? 0);
  const [groups, page] = await Promise.all([api('GET', '/groups'), api('GET', `/computers${query({ group: groupId, limit: PAGE_SIZE, offset })}`)]);
  const byParent = new Map();
  for (const g of groups.groups) byParent.set(g.parentId, [...(byParent.get(g.parentId) ?? []), g]);
  const tree = (parentId) => {
    const children = byParent.get(parentId) ?? [];
    if (children.length === 0) return null;
    return h(
      'ul',
      { class: parentId === null ? 'tree root' : 'tree' },
      children.map((g) =>
        h(
          'li',
          {},
          h('a', { href: `#/computers${query({ group: g.id })}`, 'aria-current': g.id === groupId ? 'true' : undefined }, g.name),
          ` (${count(g.computersInTree)}) `,
          canApprove && !g.builtin
            ? h('button', {
                type: 'button',
                class: 'linklike',
                'aria-label': `Delete group ${g.name}`,
                onclick: async () => {
                  if ((await attempt(() => api('DELETE', `/groups/${g.id}`), `Deleted ${g.name}.`)) !== undefined) navigate('#/computers', refresh);
                },
              }, 'delete')
            : null,
          tree(g.id),
        ),
      ),
    );
  };
  const name = h('input', { name: 'name', required: true, disabled: !canApprove });
  const parent = select(groups.groups.filter((g) => g.name !== 'Unassigned Computers').map((g) => [g.id, g.name]), groups.groups[0]?.id, { disabled: !canApprove });
  const createForm = h(
    'form',
    {
      class: 'card',
      'aria-label': 'Create a computer group',
      onsubmit: async (e) => {
        e.preventDefault();
        const created = await attempt(() => api('POST', '/groups', { name: name.value.trim(), parentId: parent.value }), (g) => `Created ${g.name}.`);
        if (created !== undefined) location.hash = `#/computers${query({ group: created.id })}`;
      },
    },
    h('h2', {}, 'New group'),
    field('Name', name),
    field('Under', parent),
    h('button', { type: 'submit', disabled: !canApprove }, 'Create group'),
  );
  const details = h('div', { 'data-testid': 'computer-details' });
  const list = table(
    [
      { title: 'Name', value: (c) => h('button', { type: 'button', class: 'linklike', onclick: () => showComputer(details, c.id, groups.groups, canApprove) }, c.name) },
      { title: 'IP address', value: (c) => c.ipAddress ?? '' },
      { title: 'Operating system', value: (c) => c.os ?? '' },
      { title: 'Groups', value: (c) => c.groups.map((g) => g.name).join(', ') },
      { title: 'Last contact', value: (c) => when(c.lastSyncAt) },
      { title: 'Last report', value: (c) => when(c.lastReportAt) },
      { title: 'Installed', value: (c) => count(c.updates.installed), num: true },
      { title: 'Needed', value: (c) => count(c.updates.needed), num: true },
      { title: 'Failed', value: (c) => count(c.updates.failed), num: true },
    ],
    page.computers,
    { empty: 'No computers here yet.', rowAttrs: (c) => ({ 'data-computer-id': c.id }) },
  );
  const current = groups.groups.find((g) => g.id === groupId);
  heading(
    root,
    current ? `Computers: ${current.name}` : 'Computers',
    replicaNotice(server),
    readOnlyNotice(isAdmin),
    h(
      'div',
      { class: 'split' },
      h('div', {}, h('section', { class: 'card', 'aria-label': 'Computer groups' }, h('h2', {}, 'Groups'), tree(null)), createForm),
      h('div', {}, pager(page, (o) => (location.hash = `#/computers${query({ group: groupId, offset: o })}`)), list, details),
    ),
  );
}

const STATUS_WORDS = {
  NotInstalled: 'Needed',
  InstalledPendingReboot: 'Installed, pending restart',
  NotApplicable: 'Not applicable',
  Unknown: 'No status',
};

async function showComputer(container, computerId, groups, canApprove) {
  const c = await attempt(() => api('GET', `/computers/${encodeURIComponent(computerId)}`));
  if (c === undefined) return;
  const target = select(groups.filter((g) => g.name !== 'All Computers').map((g) => [g.id, g.name]), c.groups[0]?.id, { disabled: !canApprove });
  container.replaceChildren(
    h(
      'section',
      { class: 'card', 'aria-label': `Details of ${c.name}` },
      h('h2', {}, c.name),
      h('p', { class: 'muted' }, `${c.os ?? 'unknown OS'}, ${c.ipAddress ?? 'no address'}; last contact ${when(c.lastSyncAt)}, last report ${when(c.lastReportAt)}`),
      h(
        'form',
        {
          class: 'row',
          'aria-label': `Move ${c.name}`,
          onsubmit: async (e) => {
            e.preventDefault();
            if ((await attempt(() => api('PUT', `/computers/${encodeURIComponent(c.id)}/group`, { groupId: target.value }), `Moved ${c.name}.`)) !== undefined) showComputer(container, computerId, groups, canApprove);
          },
        },
        field('Group', target),
        h('button', { type: 'submit', disabled: !canApprove }, 'Move'),
      ),
      h('h2', {}, 'Update status'),
      table([{ title: 'Update', value: (s) => s.title ?? s.updateId }, { title: 'Status', value: (s) => STATUS_WORDS[s.status] ?? s.status }], c.statuses, {
        empty: 'This computer has not reported any status yet.',
        rowAttrs: (s) => ({ 'data-update-id': s.updateId, 'data-status': s.status }),
      }),
    ),
  );
}

// ---- Downstream servers -------------------------------------------------------------------------

async function downstream({ root, params }) {
  const serverId = params.get('server');
  const data = await api('GET', '/downstream-servers');
  const list = table(
    [
      { title: 'Name', value: (s) => h('a', { href: `#/downstream${query({ server: s.id })}` }, s.accountName) },
      { title: 'Mode', value: (s) => (s.replica === null ? '–' : s.replica ? 'Replica' : 'Autonomous') },
      { title: 'Version', value: (s) => s.version ?? '' },
      { title: 'Last synchronization', value: (s) => when(s.lastSyncAt) },
      { title: 'Last rollup', value: (s) => when(s.lastRollupAt) },
    ],
    data.servers,
    { empty: 'No downstream server has synchronized from this server yet.', rowAttrs: (s) => ({ 'data-server-id': s.id }) },
  );
  const parts = [list];
  if (serverId) {
    const computers = await api('GET', `/downstream-servers/${serverId}/computers${query({ limit: PAGE_SIZE })}`);
    const keys = [...new Set(computers.computers.flatMap((c) => Object.keys(c)))].slice(0, 8);
    parts.push(h('h2', {}, `Computers rolled up from ${data.servers.find((s) => s.id === serverId)?.accountName ?? serverId}`), table(keys.map((k) => ({ title: k, value: (c) => String(c[k] ?? '') })), computers.computers, { empty: 'No computers rolled up yet.' }));
  }
  heading(root, 'Downstream servers', ...parts);
}

// ---- Synchronizations ---------------------------------------------------------------------------

let events;

async function sync({ root, isAdmin }) {
  const [status, runs] = await Promise.all([api('GET', '/sync'), api('GET', `/sync/runs${query({ limit: 20 })}`)]);
  const bar = h('progress', { max: 1, value: 0, 'aria-label': 'Synchronization progress' });
  const phase = h('p', { 'data-testid': 'sync-state', 'aria-live': 'polite' });
  const show = (s, progress) => {
    const p = progress ?? s?.progress;
    if (s?.running || progress) {
      bar.hidden = false;
      bar.max = Math.max(1, p?.total ?? 1);
      if (p) bar.value = p.done;
      else bar.removeAttribute('value');
      phase.textContent = p ? `Running: ${p.phase}, ${count(p.done)} of ${count(p.total)}` : 'Running…';
    } else {
      bar.hidden = true;
      const run = s?.run;
      phase.replaceChildren(run ? h('span', {}, 'Last run ', resultBadge(run.result), ` ${when(run.endedAt ?? run.startedAt)}`, run.error ? ` — ${run.error}` : '') : 'Never synchronized.');
    }
  };
  const start = h('button', { type: 'button', disabled: !isAdmin || status.running }, 'Synchronize now');
  const stop = h('button', { type: 'button', class: 'secondary', disabled: !isAdmin || !status.running }, 'Stop');
  start.addEventListener('click', async () => {
    if ((await attempt(() => api('POST', '/sync'), 'Synchronization started.')) !== undefined) {
      start.disabled = true;
      stop.disabled = false;
      show({ running: true });
    }
  });
  stop.addEventListener('click', () => attempt(() => api('DELETE', '/sync'), 'Stopping the synchronization.'));
  show(status);

  const settled = async (s) => {
    show(s);
    start.disabled = !isAdmin;
    stop.disabled = true;
    const latest = await api('GET', `/sync/runs${query({ limit: 20 })}`);
    history.replaceChildren(runTable(latest.runs));
  };
  events?.close();
  events = new EventSource(`${API}/sync/events`);
  // A run may end while the stream (re)connects: its first `state` then says so.
  events.addEventListener('state', (e) => {
    const s = JSON.parse(e.data);
    if (s.running) show(s);
    else settled(s);
  });
  events.addEventListener('progress', (e) => show(null, JSON.parse(e.data)));
  events.addEventListener('end', (e) => settled(JSON.parse(e.data)));
  window.addEventListener('hashchange', () => events?.close(), { once: true });

  const history = h('div', { 'data-testid': 'sync-history' }, runTable(runs.runs));
  heading(
    root,
    'Synchronizations',
    readOnlyNotice(isAdmin),
    h('section', { class: 'card', 'aria-label': 'Synchronize' }, h('div', { class: 'row' }, start, stop), bar, phase),
    h('h2', {}, 'History'),
    history,
  );
}

function runTable(runs) {
  return table(
    [
      { title: 'Started', value: (r) => when(r.startedAt) },
      { title: 'Ended', value: (r) => when(r.endedAt) },
      { title: 'Result', value: (r) => resultBadge(r.result) },
      { title: 'New', value: (r) => count(r.counts.newRevisions), num: true },
      { title: 'Revised', value: (r) => count(r.counts.revisedRevisions), num: true },
      { title: 'Expired', value: (r) => count(r.counts.expiredRevisions), num: true },
      { title: 'Categories', value: (r) => count(r.counts.categories), num: true },
      { title: 'Files', value: (r) => count(r.counts.files), num: true },
      { title: 'Error', value: (r) => r.error ?? '' },
    ],
    runs,
    { empty: 'No synchronization yet.', rowAttrs: (r) => ({ 'data-result': r.result }) },
  );
}

// ---- Reports ------------------------------------------------------------------------------------

async function reports({ root, params }) {
  const offset = Number(params.get('offset') ?? 0);
  const [groups, updatePage] = await Promise.all([api('GET', '/reports/groups'), api('GET', `/reports/updates${query({ limit: PAGE_SIZE, offset })}`)]);
  const columns = (nameTitle) => [
    { title: nameTitle, value: (r) => r.name },
    ...Object.entries(STATUS_LABELS).map(([k, title]) => ({ title, value: (r) => count(r[k]), num: true })),
  ];
  const totals = groups.rows.find((r) => r.name === 'All Computers') ?? groups.rows[0];
  heading(
    root,
    'Reports',
    h('section', { class: 'card' }, h('h2', {}, 'All computers'), totals ? statusChart(totals, 'Status of all computers') : h('p', { class: 'muted' }, 'No groups.')),
    h('h2', {}, 'By computer group'),
    h('p', {}, h('a', { href: `${API}/reports/groups?format=csv`, download: 'groups.csv' }, 'Download as CSV')),
    table(columns('Group'), groups.rows),
    h('h2', {}, 'By update'),
    h('p', {}, h('a', { href: `${API}/reports/updates?format=csv&limit=500`, download: 'updates.csv' }, 'Download as CSV'), ' · ', h('a', { href: `${API}/reports/computers?format=csv&limit=500`, download: 'computers.csv' }, 'Computers as CSV')),
    pager(updatePage, (o) => (location.hash = `#/reports${query({ offset: o })}`)),
    table(columns('Update'), updatePage.rows),
  );
}

// ---- Options ------------------------------------------------------------------------------------

// Edited on their own sections below, not as raw values.
const OWN_SECTIONS = new Set(['products', 'classifications', 'languages']);
const GROUP_TITLES = { upstream: 'Update source', proxy: 'Proxy server', schedule: 'Synchronization schedule', content: 'Update files' };

function settingControl(s, disabled) {
  const attrs = { name: s.key, disabled, 'data-key': s.key };
  if (s.kind === 'boolean') return h('input', { ...attrs, type: 'checkbox', checked: s.value === true });
  if (s.kind === 'integer') return h('input', { ...attrs, type: 'number', value: s.value ?? '' });
  if (s.kind === 'choice') return select((s.choices ?? []).map((c) => [c, c]), s.value, attrs);
  if (s.kind === 'time') return h('input', { ...attrs, type: 'time', value: s.value ?? '' });
  if (s.kind === 'secret') return h('input', { ...attrs, type: 'password', autocomplete: 'new-password', placeholder: s.value ? 'set (type to replace)' : 'not set' });
  return h('input', { ...attrs, value: Array.isArray(s.value) ? s.value.join(', ') : (s.value ?? '') });
}

function controlValue(s, control) {
  if (s.kind === 'boolean') return control.checked;
  if (s.kind === 'integer') return control.value === '' ? undefined : Number(control.value);
  if (s.kind === 'secret') return control.value === '' ? undefined : control.value;
  if (s.kind === 'guids' || s.kind === 'texts') return control.value.split(',').map((v) => v.trim()).filter(Boolean);
  return control.value;
}

async function options({ root, isAdmin, server }) {
  const [settings, categories, languages, schedule] = await Promise.all([api('GET', '/settings'), api('GET', '/categories'), api('GET', '/languages'), api('GET', '/schedule')]);

  // Settings by group, each saved with one PATCH (all or nothing).
  const controls = new Map();
  const byGroup = new Map();
  for (const s of settings.settings) {
    if (OWN_SECTIONS.has(s.key)) continue;
    const group = s.key.split('.')[0];
    const control = settingControl(s, !isAdmin || (server.replica && s.replicaOwned));
    controls.set(s.key, { s, control });
    byGroup.set(group, [...(byGroup.get(group) ?? []), field(s.key, control, `${s.description} (${s.allowed})`)]);
  }
  const settingsForm = h(
    'form',
    {
      'aria-label': 'Settings',
      onsubmit: async (e) => {
        e.preventDefault();
        const patch = {};
        for (const [key, { s, control }] of controls) {
          if (control.disabled) continue;
          const value = controlValue(s, control);
          if (value === undefined) continue;
          if (JSON.stringify(value) !== JSON.stringify(s.value)) patch[key] = value;
        }
        if (Object.keys(patch).length === 0) return notify('Nothing changed.');
        if ((await attempt(() => api('PATCH', '/settings', patch), `Saved ${Object.keys(patch).length} setting(s).`)) !== undefined) options({ root, isAdmin, server });
      },
    },
    [...byGroup].map(([group, fields]) => h('section', { class: 'card' }, h('h2', {}, GROUP_TITLES[group] ?? group), fields)),
    h('button', { type: 'submit', disabled: !isAdmin }, 'Save settings'),
  );

  // Products: choosing a parent takes every child, present and future.
  const picked = new Set(categories.selection.products);
  const productBoxes = [];
  const productTree = (items, inherited) =>
    h(
      'ul',
      { class: inherited === null ? 'tree root' : 'tree' },
      items.map((item) => {
        const box = h('input', { type: 'checkbox', value: item.id, checked: picked.has(item.id) || Boolean(inherited), disabled: !isAdmin || server.replica || Boolean(inherited), 'data-category': item.id });
        productBoxes.push(box);
        const li = h('li', {}, h('label', {}, box, item.title, h('span', { class: 'muted' }, ` ${item.type}`)));
        if (item.children.length > 0) li.append(productTree(item.children, inherited || picked.has(item.id)));
        box.addEventListener('change', () => {
          // Children follow the parent at once; the server keeps only the parent.
          for (const child of li.querySelectorAll(':scope > ul input[type=checkbox]')) {
            child.checked = box.checked || picked.has(child.value);
            child.disabled = box.checked;
          }
        });
        return li;
      }),
    );
  const classificationBoxes = categories.classifications.map((c) => h('input', { type: 'checkbox', value: c.id, checked: c.selected, disabled: !isAdmin || server.replica, 'data-category': c.id }));
  const categoriesForm = h(
    'form',
    {
      class: 'card',
      'aria-label': 'Products and classifications',
      onsubmit: async (e) => {
        e.preventDefault();
        const products = productBoxes.filter((b) => b.checked && !b.disabled).map((b) => b.value);
        const classifications = classificationBoxes.filter((b) => b.checked).map((b) => b.value);
        await attempt(() => api('PUT', '/categories/selection', { products, classifications }), 'Saved products and classifications.');
      },
    },
    h('h2', {}, 'Products and classifications'),
    server.replica ? h('p', { class: 'notice-replica' }, 'A replica takes its products and classifications from its upstream server.') : null,
    categories.products.length === 0 ? h('p', { class: 'muted' }, 'No products yet: synchronize once to get the product list from the upstream server.') : productTree(categories.products, null),
    h('h2', {}, 'Classifications'),
    h('ul', { class: 'tree root' }, categories.classifications.map((c, i) => h('li', {}, h('label', {}, classificationBoxes[i], c.title)))),
    h('button', { type: 'submit', disabled: !isAdmin || server.replica }, 'Save products and classifications'),
  );

  // Languages: all (and new ones), this server's locale, or a chosen list.
  const mode = Array.isArray(languages.selection) ? 'list' : languages.selection?.kind ?? languages.selection ?? 'all';
  const modeChoice = select([['all', 'All languages, including new ones'], ['locale', "This server's locale"], ['list', 'Only these languages']], mode === 'list' || mode === 'all' || mode === 'locale' ? mode : 'list', { disabled: !isAdmin });
  const languageBoxes = languages.languages.map((l) => h('input', { type: 'checkbox', value: l.shortName, checked: l.selected, disabled: !isAdmin, 'data-language': l.shortName }));
  const languagesForm = h(
    'form',
    {
      class: 'card',
      'aria-label': 'Languages',
      onsubmit: async (e) => {
        e.preventDefault();
        const value = modeChoice.value === 'list' ? languageBoxes.filter((b) => b.checked).map((b) => b.value) : modeChoice.value;
        await attempt(() => api('PATCH', '/settings', { languages: value }), 'Saved languages.');
      },
    },
    h('h2', {}, 'Languages'),
    field('Keep updates in', modeChoice),
    h('ul', { class: 'tree root' }, languages.languages.map((l, i) => h('li', {}, h('label', {}, languageBoxes[i], `${l.longName} (${l.shortName})`, l.enabled ? '' : h('span', { class: 'muted' }, ' not offered by the upstream'))))),
    h('button', { type: 'submit', disabled: !isAdmin }, 'Save languages'),
  );

  heading(
    root,
    'Options',
    readOnlyNotice(isAdmin),
    h('p', { class: 'muted' }, `Synchronization: ${schedule.mode}${schedule.nextSyncAt ? `, next at ${when(schedule.nextSyncAt)}` : ''}.`),
    settings.problems.length > 0 ? h('ul', { class: 'problem' }, settings.problems.map((p) => h('li', {}, `${p.key}: ${p.reason}`))) : null,
    categoriesForm,
    languagesForm,
    settingsForm,
  );
}

// ---- Accounts -----------------------------------------------------------------------------------

async function accounts({ root, isAdmin }) {
  if (!isAdmin) return heading(root, 'Accounts', readOnlyNotice(false));
  const [list, tokens] = await Promise.all([api('GET', '/accounts'), api('GET', '/tokens')]);
  const name = h('input', { name: 'name', required: true, autocomplete: 'off' });
  const role = select([['Reporters', 'Reporter (read only)'], ['Administrators', 'Administrator']], 'Reporters', { name: 'role' });
  const password = h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password' });
  heading(
    root,
    'Accounts',
    table(
      [
        { title: 'Name', value: (a) => a.name },
        { title: 'Role', value: (a) => a.role },
        { title: 'Disabled', value: (a) => (a.disabled ? 'yes' : '') },
        { title: 'Last sign-in', value: (a) => when(a.lastLoginAt) },
      ],
      list.accounts,
    ),
    h(
      'form',
      {
        class: 'card',
        'aria-label': 'Create an account',
        onsubmit: async (e) => {
          e.preventDefault();
          if ((await attempt(() => api('POST', '/accounts', { name: name.value.trim(), role: role.value, password: password.value }), (a) => `Created ${a.name}.`)) !== undefined) accounts({ root, isAdmin });
        },
      },
      h('h2', {}, 'New account'),
      h('div', { class: 'row' }, field('Name', name), field('Role', role), field('Password', password, 'at least 8 characters'), h('button', { type: 'submit' }, 'Create account')),
    ),
    h('h2', {}, 'API tokens'),
    table(
      [
        { title: 'Name', value: (t) => t.name },
        { title: 'Account', value: (t) => t.account },
        { title: 'Starts with', value: (t) => t.prefix },
        { title: 'Expires', value: (t) => when(t.expiresAt) },
        { title: 'Revoked', value: (t) => when(t.revokedAt) },
      ],
      tokens.tokens,
      { empty: 'No tokens.' },
    ),
  );
}

export const PAGES = { overview, updates, computers, downstream, sync, reports, options, accounts };
