// Commands that change approvals, groups, declines or memberships ask first whether this server is
// a replica, and refuse before touching anything (domain/replica-guard.ts): the message names the
// upstream where the change belongs.
import type { Store } from '../store/index.ts';

export async function refuseIfReplica(store: Store, what: string): Promise<void> {
  const { resolveDownstreamSettings } = await import('../domain/settings.ts');
  const { refuseOnReplica } = await import('../domain/replica-guard.ts');
  refuseOnReplica(resolveDownstreamSettings(await store.settings.all()).settings, what);
}
