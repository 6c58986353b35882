// A small catalog and fleet for the administration tests: two classifications, updates with and
// without UninstallationBehavior, a KB two updates share, a bundle, a detectoid, three computers.
import type { RevisionInput, Store } from '../../src/store/index.ts';
import type { UpdateProperties } from '../../src/domain/update.ts';
import { writeUpdateXml } from '../../src/metadata/update-writer.ts';
import { guid, makeRevision, type RecordSpec } from '../store/records.ts';

export const IDS = {
  security: guid(1, 'classification'),
  critical: guid(2, 'classification'),
  /** KB5070001, revisions 1 and 2, uninstallable, Security Updates. */
  cumulative: guid(1),
  /** KB5070002, not uninstallable, Critical Updates. */
  stack: guid(2),
  /** Both KB5070003. */
  twinA: guid(3),
  twinB: guid(4),
  /** KB5070005, a bundle without UninstallationBehavior whose one member has it. */
  bundle: guid(5),
  bundled: guid(6),
  detectoid: guid(7),
  pc1: guid(1, 'computer'),
  pc2: guid(2, 'computer'),
  pc3: guid(3, 'computer'),
} as const;

/** A revision whose stored document is a full one (so the parser sees UninstallationBehavior). */
function revision(spec: RecordSpec & { uninstallable?: boolean }): RevisionInput {
  const base = makeRevision(spec);
  if (spec.updateType !== undefined && spec.updateType !== 'Software') return base;
  const properties: UpdateProperties = {
    ...base.record.properties,
    ...(spec.uninstallable ? { uninstallationBehavior: { RebootBehavior: 'CanRequestReboot' } } : {}),
  };
  const xml = writeUpdateXml({
    key: base.record.key,
    properties,
    localized: base.record.localized,
    prerequisites: base.record.prerequisites,
    bundles: base.record.bundles,
  });
  return { ...base, record: { ...base.record, properties, xml } };
}

const inClass = (id: string) => [{ updateIds: [id], isCategory: true }];

export async function seedAdminCatalog(store: Store): Promise<void> {
  await store.catalog.upsertRevisions([
    revision({ updateId: IDS.security, revisionNumber: 1, updateType: 'Category', categoryType: 'UpdateClassification', title: 'Security Updates' }),
    revision({ updateId: IDS.critical, revisionNumber: 1, updateType: 'Category', categoryType: 'UpdateClassification', title: 'Critical Updates' }),
    revision({ updateId: IDS.detectoid, revisionNumber: 1, updateType: 'Detectoid', title: 'Windows 11 detectoid' }),
    revision({ updateId: IDS.cumulative, revisionNumber: 1, title: '2026-11 Cumulative Update (KB5070001) old', kbArticleId: '5070001', prerequisites: inClass(IDS.security), uninstallable: true }),
    revision({ updateId: IDS.stack, revisionNumber: 1, title: '2026-11 Servicing Stack Update (KB5070002)', kbArticleId: '5070002', prerequisites: inClass(IDS.critical) }),
    revision({ updateId: IDS.twinA, revisionNumber: 1, title: 'Twin update for x64 (KB5070003)', kbArticleId: '5070003', prerequisites: inClass(IDS.security) }),
    revision({ updateId: IDS.twinB, revisionNumber: 1, title: 'Twin update for arm64 (KB5070003)', kbArticleId: '5070003', prerequisites: inClass(IDS.security) }),
    revision({ updateId: IDS.bundled, revisionNumber: 1, title: 'Bundled payload', uninstallable: true }),
    revision({
      updateId: IDS.bundle,
      revisionNumber: 1,
      title: '2026-11 Feature pack (KB5070005)',
      kbArticleId: '5070005',
      prerequisites: inClass(IDS.security),
      bundles: [{ members: [{ updateId: IDS.bundled, revisionNumber: 1 }], atLeastOne: false }],
    }),
  ]);
  // A second revision: approvals must take it, not the first.
  await store.catalog.upsertRevisions([
    revision({ updateId: IDS.cumulative, revisionNumber: 2, title: '2026-11 Cumulative Update (KB5070001)', kbArticleId: '5070001', prerequisites: inClass(IDS.security), uninstallable: true }),
  ]);
}

/** Three computers in Unassigned Computers; pc1 and pc2 have reported, pc3 never did. */
export async function seedFleet(store: Store): Promise<void> {
  const { UNASSIGNED_COMPUTERS_GROUP_ID } = await import('../../src/domain/wellknown.ts');
  for (const [id, name, ip] of [
    [IDS.pc1, 'pc1.corp.example', '10.0.0.11'],
    [IDS.pc2, 'pc2.corp.example', '10.0.0.12'],
    [IDS.pc3, 'pc3.corp.example', '10.0.0.13'],
  ] as const) {
    await store.computers.touch({ id, dnsName: name, ipAddress: ip, defaultGroupId: UNASSIGNED_COMPUTERS_GROUP_ID });
    await store.computers.register(id, { dnsName: name, osMajor: 10, osMinor: 0, osBuild: 26100, osDescription: 'Windows 11 Enterprise' }, ip);
  }
  const at = new Date('2026-11-20T10:00:00Z');
  await store.clientEvents.applyStatus(IDS.pc1, [{ replacesAll: true, changes: [{ updateId: IDS.cumulative, status: 'Installed' }, { updateId: IDS.stack, status: 'NotInstalled' }] }], at);
  await store.clientEvents.applyStatus(IDS.pc2, [{ replacesAll: true, changes: [{ updateId: IDS.cumulative, status: 'Failed' }] }], at);
  await store.computers.markReported(IDS.pc1, at);
  await store.computers.markReported(IDS.pc2, at);
  await store.computers.markSynced(IDS.pc1, at);
}
