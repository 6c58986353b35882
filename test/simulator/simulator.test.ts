// The client simulator (src/simulator): what it reads from real fragments, its deterministic
// computers and profiles, the events it writes as the server reads them, and one computer against
// the real client services: ranged downloads checked against their digests (a file with the
// wrong bytes is refused and reported with event 161), a cookie that expired (the agent asks for
// a new one and goes on), and a server that is not there.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { Agent } from 'undici';
import { ContentStore } from '../../src/content/index.ts';
import { statusFromEvent } from '../../src/domain/client-event.ts';
import type { UpdateFile } from '../../src/domain/update.ts';
import { ALL_COMPUTERS_GROUP_ID, CLASSIFICATIONS } from '../../src/domain/wellknown.ts';
import { eventBatchXml, scanEvents } from '../../src/simulator/events.ts';
import { readCore, readExtendedFiles, readLocalized } from '../../src/simulator/fragments.ts';
import { ALL_NEEDED, SimulatedClient } from '../../src/simulator/index.ts';
import { leafState, resolveProfile } from '../../src/simulator/profile.ts';
import { childElements, findChild, parseXmlFragment, textContent, type XmlElement } from '../../src/xml/index.ts';
import { withClientServer } from '../services/client-harness.ts';
import { forEachBackend } from '../support/db.ts';
import { readFixtureText } from '../support/fixtures.ts';
import type { RevisionInput } from '../../src/store/index.ts';
import { guid, makeRevision } from '../store/records.ts';

const reference = (name: string) => readFixtureText('wsus-m0-wsusss', `wusp-reference/${name}`);

test('Core, Extended and LocalizedProperties fragments a real WSUS sent read as the agent needs them', () => {
  const bundle = readCore(reference('1f9bd9bb-7390-4aa3-bbdb-ded99fac2583-r200.core.xml'));
  assert.equal(bundle.updateId, '1f9bd9bb-7390-4aa3-bbdb-ded99fac2583');
  assert.equal(bundle.revisionNumber, 200);
  assert.equal(bundle.updateType, 'Software');
  assert.deepEqual(bundle.prerequisites, [['e0789628-ce08-4437-be74-2495b842f43b'], ['8c3fcc84-7410-4a95-8b89-a166a0190486']]);
  assert.ok(bundle.bundled.length > 10 && bundle.bundled.includes('f0f101fb-5f20-46fb-949f-3da68bd6f77d'));

  const category = readCore(reference('56309036-4c77-4dd9-951a-99ee9c246a94-r101.core.xml'));
  assert.deepEqual([category.updateId, category.updateType, category.prerequisites, category.bundled], ['56309036-4c77-4dd9-951a-99ee9c246a94', 'Category', [], []]);

  // Plain UpdateIdentity clauses and AtLeastOne clauses, applicability rules left alone.
  const defender = readCore(reference('7366a74a-ef29-44e1-b738-570b516aca1f-r200.core.xml'));
  assert.equal(defender.prerequisites.length, 4);
  assert.deepEqual(defender.prerequisites[3], ['8c3fcc84-7410-4a95-8b89-a166a0190486']);

  const files = readExtendedFiles(reference('7366a74a-ef29-44e1-b738-570b516aca1f-r200.extended.xml'));
  assert.deepEqual(files, [
    { sha1: '6LHXWIXPjwU6Ewe9ycP4e/DPeto=', sha256: 'z53OiKDgnskhUnDhQeuuixJreIqwZq1X7COvqZM4+Tk=', fileName: 'AM_Delta.exe', size: 11610576 },
  ]);
  assert.equal(readLocalized(reference('7366a74a-ef29-44e1-b738-570b516aca1f-r200.localized-en.xml'))?.title.startsWith('Full Deltas 1.459.539.0 for Defender'), true);
});

test('computers and what they have installed are fixed by (seed, index), and the shares hold', () => {
  const a = new SimulatedClient({ serverUrl: 'http://127.0.0.1:1', index: 7, seed: 3 });
  const b = new SimulatedClient({ serverUrl: 'http://127.0.0.1:1', index: 7, seed: 3 });
  const c = new SimulatedClient({ serverUrl: 'http://127.0.0.1:1', index: 8, seed: 3 });
  const d = new SimulatedClient({ serverUrl: 'http://127.0.0.1:1', index: 7, seed: 4 });
  assert.equal(a.id, b.id);
  assert.equal(a.dnsName, b.dnsName);
  assert.equal(new Set([a.id, c.id, d.id]).size, 3);

  const profile = resolveProfile({ installed: 0.3, notApplicable: 0.2 });
  const updates = Array.from({ length: 4000 }, (_, i) => guid(i, 'sim'));
  const states = updates.map((u) => leafState(profile, 3, a.id, u));
  assert.deepEqual(states, updates.map((u) => leafState(profile, 3, a.id, u)), 'the same every time');
  const share = (s: string) => states.filter((x) => x === s).length / states.length;
  assert.ok(Math.abs(share('installed') - 0.3) < 0.03 && Math.abs(share('notApplicable') - 0.2) < 0.03 && Math.abs(share('needed') - 0.5) < 0.03);
  assert.notDeepEqual(states, updates.map((u) => leafState(profile, 3, c.id, u)), 'another computer differs');
  assert.throws(() => resolveProfile({ installed: 0.8, notApplicable: 0.3 }), /must not exceed 1/);
});

test('event 156 carries U= and V= lists the server reads as NotInstalled and Installed', () => {
  const machine = { clientId: guid(1, 'pc'), manufacturer: 'QEMU', model: 'Standard PC', osBuild: 26100 };
  const needed = [guid(1), guid(2)];
  const installed = [guid(3)];
  const xml = eventBatchXml(machine, 'scan 1', new Date('2026-11-01T10:00:00Z'), scanEvents(2, needed, installed));
  const events = parseXmlFragment(xml);
  assert.equal(events.length, 2);
  const text = (e: XmlElement, path: string[]) => textContent(path.reduce<XmlElement>((n, name) => findChild(n, name)!, e)).trim();
  const strings = (e: XmlElement, path: string[]) => childElements(path.reduce<XmlElement>((n, name) => findChild(n, name)!, e)).map((s) => textContent(s));
  assert.deepEqual(events.map((e) => text(e, ['BasicData', 'EventID'])), ['147', '156']);
  assert.deepEqual(strings(events[0]!, ['ExtendedData', 'ReplacementStrings']), ['2']);
  const e156 = events[1]!;
  const status = statusFromEvent({
    eventInstanceId: text(e156, ['BasicData', 'EventInstanceID']),
    namespaceId: Number(text(e156, ['BasicData', 'NamespaceID'])),
    eventId: 156,
    sourceId: 101,
    updateId: text(e156, ['BasicData', 'UpdateID', 'UpdateID']),
    revisionNumber: 0,
    win32HResult: 0,
    appName: '',
    timeAtTarget: text(e156, ['BasicData', 'TimeAtTarget']),
    replacementStrings: [],
    miscData: strings(e156, ['ExtendedData', 'MiscData']),
  })!;
  assert.deepEqual(
    status.changes.map((c) => `${c.updateId} ${c.status}`).sort(),
    [`${needed[0]} NotInstalled`, `${needed[1]} NotInstalled`, `${installed[0]} Installed`].sort(),
  );
  // The same batch written again has the same EventInstanceIDs: the server keeps it once.
  assert.equal(eventBatchXml(machine, 'scan 1', new Date('2026-11-01T10:00:00Z'), scanEvents(2, needed, installed)), xml);
});

function fileOf(name: string, bytes: Buffer): UpdateFile {
  return {
    sha1: createHash('sha1').update(bytes).digest('base64'),
    sha256: createHash('sha256').update(bytes).digest('base64'),
    fileName: name,
    size: bytes.length,
    modified: '2026-09-01T00:00:00Z',
  };
}

/** makeRevision's Extended fragment has no Files; the real one (metadata/fragments.ts) lists them as here. */
function withExtendedFiles(input: RevisionInput, files: readonly UpdateFile[]): RevisionInput {
  const list = files.map((f) => `<File Digest="${f.sha1}" DigestAlgorithm="SHA1" FileName="${f.fileName}" Size="${f.size}" Modified="${f.modified}"><AdditionalDigest Algorithm="SHA256">${f.sha256}</AdditionalDigest></File>`);
  return { ...input, fragments: { ...input.fragments, extended: `${input.fragments.extended}<Files>${list.join('')}</Files>` } };
}

forEachBackend(
  'one simulated computer: ranged downloads with digest checks, an expired cookie renewed, an absent server',
  async ({ store, dataDir }) => {
    const product = guid(1, 'sim-product');
    const good = randomBytes(2 * 1024 * 1024 + 12_345);
    const goodFile = fileOf('good-kb1.cab', good);
    const badFile = fileOf('bad-kb2.cab', randomBytes(4096));
    const clause = [
      { updateIds: [product], isCategory: true },
      { updateIds: [CLASSIFICATIONS.updates], isCategory: true },
    ];
    const [, , goodId, badId] = [guid(10, 'sim'), guid(11, 'sim'), guid(12, 'sim'), guid(13, 'sim')];
    await store.catalog.upsertRevisions([
      makeRevision({ updateId: product, revisionNumber: 100, updateType: 'Category', categoryType: 'Product', title: 'Windows 11' }),
      makeRevision({ updateId: CLASSIFICATIONS.updates, revisionNumber: 100, updateType: 'Category', categoryType: 'UpdateClassification', title: 'Updates' }),
      withExtendedFiles(makeRevision({ updateId: goodId!, revisionNumber: 200, title: 'Good update', prerequisites: clause, files: [goodFile] }), [goodFile]),
      withExtendedFiles(makeRevision({ updateId: badId!, revisionNumber: 200, title: 'Tampered update', prerequisites: clause, files: [badFile] }), [badFile]),
    ]);
    const now = new Date().toISOString();
    await store.approvals.upsert(
      [goodId!, badId!].map((updateId, i) => ({ id: guid(i, 'sim-approval'), updateId, revisionNumber: 200, groupId: ALL_COMPUTERS_GROUP_ID, action: 'Install' as const, adminName: 't', createdAt: now })),
    );
    const content = ContentStore.inDataDir(dataDir);
    for (const [file, bytes] of [
      [goodFile, good],
      [badFile, randomBytes(4096)],
    ] as const) {
      mkdirSync(dirname(content.pathOf(file)), { recursive: true });
      writeFileSync(content.pathOf(file), bytes);
    }

    await withClientServer(
      store,
      async (server) => {
        // Its own connection pool, closed before the server is, so no idle keep-alive holds the server's close.
        const dispatcher = new Agent();
        const pc = new SimulatedClient({ serverUrl: server.origin, index: 0, seed: 9, profile: ALL_NEEDED, dispatcher });
        const first = await pc.scan();
        assert.ok(first.ok, first.error);
        assert.deepEqual(first.offered.map((u) => [u.updateId, u.action, u.state, u.title]).sort(), [
          [goodId, 'Install', 'needed', 'Good update'],
          [badId, 'Install', 'needed', 'Tampered update'],
        ].sort());
        const byId = new Map(first.downloads.map((d) => [d.updateId, d]));
        assert.deepEqual(byId.get(goodId!), { updateId: goodId, files: 1, bytes: good.length, ok: true });
        assert.equal(byId.get(badId!)?.ok, false);
        assert.match(byId.get(badId!)!.errors![0]!, /SHA-1/);
        assert.ok(first.reported?.accepted);
        assert.deepEqual([...first.reported.eventIds].sort(), [147, 156, 161, 162, 167, 167]);
        const computer = (await store.computers.get(pc.id))!;
        assert.equal(computer.dnsName, pc.dnsName);
        assert.ok(computer.lastReportAt !== undefined);

        // An hour later the cookie has expired: the agent gets a new one and rescans incrementally.
        server.clock.now = new Date(Date.now() + 2 * 60 * 60_000);
        const second = await pc.scan();
        assert.ok(second.ok, second.error);
        assert.equal(second.kind, 'incremental');
        assert.equal(second.newUpdates, 0);
        assert.deepEqual(second.outOfScope, []);
        await dispatcher.close();
      },
      { content },
    );

    const absent = await new SimulatedClient({ serverUrl: 'http://127.0.0.1:1', index: 0, timeoutMs: 5000 }).scan();
    assert.equal(absent.ok, false);
    assert.match(absent.error!, /GetConfig at http:\/\/127\.0\.0\.1:1\/ClientWebService\/client\.asmx: connect ECONNREFUSED/);
  },
  { only: ['sqlite'] },
);
