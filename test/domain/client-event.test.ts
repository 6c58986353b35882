// Update status from reported events: the real agent's batches (fixtures wsus-m0-reports) replayed
// in order, and each event id the status derivation reads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyStatusReports, statusFromEvent, type ReportingEvent, type StatusReport, type UpdateStatus } from '../../src/domain/client-event.ts';
import { readFixtureText } from '../support/fixtures.ts';

interface NativeEvent {
  event_id: number;
  win32_hresult: number;
  update: string;
  misc_data: string[];
  misc_list_sizes: Record<string, number | boolean>;
  time_at_target: string;
}

const NATIVE = JSON.parse(readFixtureText('wsus-m0-reports', 'native-install-events.json')) as { batches: { run: string; events: NativeEvent[] }[] };
const NET = '88661612-7dd9-49d4-bb34-1e54802c99b9';
const MSI = 'b3201129-7087-42ee-a3f7-2a3b44965ee5';
const OTHER = '11111111-2222-4333-8444-555555555555';

let n = 0;
function event(eventId: number, over: Partial<ReportingEvent> = {}): ReportingEvent {
  return {
    eventInstanceId: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
    namespaceId: 1,
    eventId,
    sourceId: 101,
    updateId: '00000000-0000-0000-0000-000000000000',
    revisionNumber: 0,
    win32HResult: 0,
    appName: 'test',
    timeAtTarget: '2026-10-06T14:56:40.923Z',
    replacementStrings: [],
    miscData: [],
    ...over,
  };
}

/** The fixture keeps the sizes of the 156 lists and whether the .NET update is in them: put that much back. */
function fromFixture(e: NativeEvent): ReportingEvent {
  const [updateId, revision] = e.update.split('@');
  const misc = [...e.misc_data];
  if (e.event_id === 156) {
    const s = e.misc_list_sizes;
    const u = s.U_includes_88661612 ? [NET.toUpperCase(), OTHER.toUpperCase()] : [OTHER.toUpperCase()];
    if (!s.U_includes_88661612 && !e.misc_data.some((m) => m.startsWith('g='))) u.push(MSI.toUpperCase());
    misc.push(`U=${u.join(';')}`, `V=${s.V_includes_88661612 ? NET.toUpperCase() : ''}`);
  }
  return event(e.event_id, { updateId: updateId!, revisionNumber: Number(revision), win32HResult: e.win32_hresult, miscData: misc, timeAtTarget: e.time_at_target });
}

test('the real agent\'s batches, replayed in order, give the statuses a WSUS shows', () => {
  const seen: Map<string, UpdateStatus>[] = [];
  let state = new Map<string, UpdateStatus>();
  for (const batch of NATIVE.batches) {
    const reports = batch.events.map(fromFixture).map(statusFromEvent).filter((r): r is StatusReport => r !== undefined);
    state = applyStatusReports(state, reports);
    seen.push(state);
  }
  // Batch 0: scanned (156 lists the .NET update as needed), downloaded (162), install started.
  assert.equal(seen[0]!.get(NET), 'Downloaded');
  // Batch 1: "installation pending" with WU_S_REBOOT_REQUIRED.
  assert.equal(seen[1]!.get(NET), 'InstalledPendingReboot');
  // Batch 2: after the restart the 156 lists it installed; the MSI test update's download failed.
  assert.equal(seen[2]!.get(NET), 'Installed');
  assert.equal(seen[2]!.get(MSI), 'Failed');
  // Batch 3: the install attempt fails (182); batch 4: the next 156 names it in g= (failed), not U=.
  assert.equal(seen[3]!.get(MSI), 'Failed');
  assert.equal(seen[4]!.get(MSI), 'Failed');
  assert.equal(seen[4]!.get(OTHER), 'NotInstalled');
  assert.equal(seen[4]!.get(NET), 'Installed');
});

test('each event id: downloads, installs, restarts, uninstalls; a 156 forgets what it leaves out', () => {
  const on = (eventId: number, over: Partial<ReportingEvent> = {}) => statusFromEvent(event(eventId, { updateId: OTHER, revisionNumber: 1, ...over }))?.changes[0]?.status;
  assert.equal(on(162), 'Downloaded');
  assert.equal(on(164), 'Downloaded');
  assert.equal(on(161), 'Failed');
  assert.equal(on(182), 'Failed');
  assert.equal(on(204), 'Failed');
  assert.equal(on(183), 'Installed');
  assert.equal(on(203), 'Installed');
  assert.equal(on(184), 'InstalledPendingReboot');
  assert.equal(on(201, { win32HResult: 0x00240005 }), 'InstalledPendingReboot');
  assert.equal(on(201), undefined, 'installation pending without a restart to wait for says nothing');
  assert.equal(on(222), 'NotInstalled');
  assert.equal(on(224), 'NotInstalled');
  for (const id of [147, 167, 168, 181, 202, 221]) assert.equal(on(id), undefined, `event ${id}`);
  assert.equal(statusFromEvent(event(183)), undefined, 'an install event without an update');
  assert.equal(statusFromEvent(event(183, { updateId: OTHER, namespaceId: 2 })), undefined, 'another namespace');

  const s156 = (u: string[], v: string[] = [], g: string[] = []) =>
    statusFromEvent(event(156, { miscData: [`G=1507.2601.30012.0`, `U=${u.join(';')}`, `V=${v.join(';')}`, ...(g.length > 0 ? [`g=${g.join(';')}`] : [])] }))!;
  const A = 'aaaaaaaa-0000-4000-8000-000000000001';
  const B = 'aaaaaaaa-0000-4000-8000-000000000002';
  const C = 'aaaaaaaa-0000-4000-8000-000000000003';
  let state = applyStatusReports(new Map(), [s156([A, B, C.toUpperCase()])]);
  assert.deepEqual([...state.values()], ['NotInstalled', 'NotInstalled', 'NotInstalled']);
  state = applyStatusReports(state, [statusFromEvent(event(162, { updateId: A }))!, statusFromEvent(event(182, { updateId: B }))!]);
  // The next status report lists A and B as not installed still: Downloaded and Failed stand.
  state = applyStatusReports(state, [s156([A, B])]);
  assert.deepEqual(Object.fromEntries(state), { [A]: 'Downloaded', [B]: 'Failed' }, 'C left out: not applicable any more');
  state = applyStatusReports(state, [statusFromEvent(event(184, { updateId: A }))!]);
  assert.equal(state.get(A), 'InstalledPendingReboot');
  // A download event does not undo an install; an id in two lists is installed.
  state = applyStatusReports(state, [statusFromEvent(event(162, { updateId: A }))!]);
  assert.equal(state.get(A), 'InstalledPendingReboot');
  state = applyStatusReports(state, [s156([B], [A, B])]);
  assert.deepEqual(Object.fromEntries(state), { [A]: 'Installed', [B]: 'Installed' });
  state = applyStatusReports(state, [s156([A], [], [B])]);
  assert.deepEqual(Object.fromEntries(state), { [A]: 'NotInstalled', [B]: 'Failed' });
});
