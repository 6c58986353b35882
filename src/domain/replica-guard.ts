// A replica downstream server takes approvals, groups and declines from its upstream at every
// synchronization (WSUS-PROTOCOLS §2.8), and its updates selection with them: a local change
// would be overwritten at the next sync, or silently diverge from the upstream, so it is refused
// with a message saying where to make it.
import { upstreamOrigin, type DownstreamSettings } from './settings.ts';

/** A local change refused because this server is a replica. */
export class ReplicaChangeRefused extends Error {
  override name = 'ReplicaChangeRefused';
}

/** Settings a replica takes from its upstream and refuses locally. */
export const REPLICA_OWNED_SETTINGS: readonly string[] = ['products', 'classifications'];

export function replicaMessage(settings: Pick<DownstreamSettings, 'source' | 'server' | 'port' | 'ssl'>): string {
  let upstream: string;
  try {
    upstream = upstreamOrigin(settings as DownstreamSettings);
  } catch {
    // A replica whose upstream is not configured yet still says why it refuses.
    upstream = 'its upstream server';
  }
  return `this server is a replica of ${upstream}: approvals, groups, declines, products and classifications come from the upstream; change them there`;
}

/**
 * Throws ReplicaChangeRefused when `settings` make this server a replica. `what` names the
 * change refused ("approve updates", "set products"), put before the reason.
 */
export function refuseOnReplica(settings: Pick<DownstreamSettings, 'replica' | 'source' | 'server' | 'port' | 'ssl'>, what: string): void {
  if (!settings.replica) return;
  throw new ReplicaChangeRefused(`cannot ${what}: ${replicaMessage(settings)}`);
}
