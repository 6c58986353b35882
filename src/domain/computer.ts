// Computers that scan against this server (DESIGN §3 "Computer"). Pure types.

/** What RegisterComputer's computerInfo tells about a machine (MS-WUSP 2.2.2.2.3). */
export interface ComputerInfo {
  readonly dnsName: string;
  readonly osMajor?: number;
  readonly osMinor?: number;
  readonly osBuild?: number;
  readonly osServicePackMajor?: number;
  readonly osServicePackMinor?: number;
  readonly osLocale?: string;
  readonly osDescription?: string;
  readonly manufacturer?: string;
  readonly model?: string;
  readonly biosName?: string;
  readonly biosVersion?: string;
  /** ISO-8601 UTC. */
  readonly biosReleaseDate?: string;
  /** As the agent sends it: `AMD64`, `X86`, `ARM64`. */
  readonly processorArchitecture?: string;
  /** `Major.Minor.Build.Qfe` of the Windows Update Agent. */
  readonly clientVersion?: string;
}

export interface Computer extends ComputerInfo {
  /** The agent's per-install GUID, lower-case. */
  readonly id: string;
  readonly ipAddress?: string;
  /** Groups the computer was put in (All Computers is implied). */
  readonly groupIds: readonly string[];
  readonly registeredAt?: string;
  readonly lastSyncAt?: string;
  readonly lastReportAt?: string;
  readonly createdAt: string;
}

/** How computers get their groups: by the administrator (server) or by their own policy (client). */
export type TargetingMode = 'server' | 'client';

/** Settings of the client role. */
export const CLIENT_SETTING_KEYS = {
  targetingMode: 'clients.targetingMode',
  createMissingGroups: 'clients.createMissingGroups',
} as const;

/**
 * The group names a client-side-targeted agent sends in `targetGroupName`: one name, or several
 * separated by semicolons (the TargetGroup policy accepts a list).
 */
export function targetGroupNames(value: string | undefined): string[] {
  if (value === undefined) return [];
  const out: string[] = [];
  for (const part of value.split(';')) {
    const name = part.trim();
    if (name !== '' && !out.some((n) => n.toLowerCase() === name.toLowerCase())) out.push(name);
  }
  return out;
}
