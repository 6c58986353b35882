// Downstream servers (WSUS or openwsus) synchronizing from this one, and who may become one.
// MS-WSUSSS 3.1.4.2: the first GetAuthorizationCookie of an unknown server adds it to the DSS table.

export interface DownstreamServer {
  /** The `accountGuid` it authenticated with: its server id. Lower-case. */
  readonly id: string;
  /** The `accountName` it gave (an FQDN). */
  readonly accountName: string;
  /** Protocol version it asked for in its last GetCookie; absent before its first one. */
  readonly protocolVersion?: string;
  /** It called GetDeployments: it mirrors this server's approvals. */
  readonly isReplica: boolean;
  /** ISO-8601 UTC. */
  readonly firstContactAt: string;
  readonly lastContactAt: string;
}

export interface AdmissionPolicy {
  /** Most downstream servers this server serves; a new one past it is refused. */
  readonly maxDownstreamServers: number;
  /** When set, only these server ids (lower-case) are served. */
  readonly allowedIds?: readonly string[] | undefined;
}

export type Admission =
  | { readonly admitted: true }
  | { readonly admitted: false; readonly reason: 'not-allowed' | 'limit' };

/** Whether a server may (keep) synchronizing; `registered` servers are never refused by the limit. */
export function admitDownstream(id: string, registered: boolean, registeredCount: number, policy: AdmissionPolicy): Admission {
  if (policy.allowedIds !== undefined && !policy.allowedIds.includes(id)) return { admitted: false, reason: 'not-allowed' };
  if (!registered && registeredCount >= policy.maxDownstreamServers) return { admitted: false, reason: 'limit' };
  return { admitted: true };
}

/** An `accountName` MS-WSUSSS accepts: an FQDN (RFC 1035 letters, digits, hyphens, dots; `_` as Windows allows). */
export function isValidAccountName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?$/.test(name);
}
