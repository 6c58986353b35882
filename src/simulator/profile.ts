// What a simulated computer has installed. A real agent evaluates each revision's applicability
// rules (IsInstalled / IsInstallable with the b./m. handlers) against the machine; the simulator
// cannot, so it decides per (seed, computer, update) from fractions, deterministically: the same
// computer finds the same updates installed on every run, and two computers differ.
import { hash32 } from '../catalog/random.ts';

export interface InstalledProfile {
  /** Share of detectoids evaluated as installed (true); unlocks what requires them. Default 1. */
  readonly detectoids?: number;
  /** Share of non-leaf software updates (prerequisites of others) found installed. Default 1. */
  readonly prerequisites?: number;
  /** Share of leaf software updates already installed. Default 0.3. */
  readonly installed?: number;
  /** Share of leaf software updates not applicable to the machine. Default 0.2. The rest is needed. */
  readonly notApplicable?: number;
}

/** Every update applicable and missing: what a test wants when it checks "gets exactly the approved updates". */
export const ALL_NEEDED: InstalledProfile = { detectoids: 1, prerequisites: 1, installed: 0, notApplicable: 0 };

export type LeafState = 'installed' | 'notApplicable' | 'needed';

export function resolveProfile(p: InstalledProfile = {}): Required<InstalledProfile> {
  const out = { detectoids: p.detectoids ?? 1, prerequisites: p.prerequisites ?? 1, installed: p.installed ?? 0.3, notApplicable: p.notApplicable ?? 0.2 };
  for (const [k, v] of Object.entries(out)) if (!(v >= 0 && v <= 1)) throw new RangeError(`profile.${k} must be between 0 and 1, got ${v}`);
  if (out.installed + out.notApplicable > 1) throw new RangeError('profile.installed + profile.notApplicable must not exceed 1');
  return out;
}

/** Uniform in [0, 1) for this computer and update. */
function draw(seed: number, clientId: string, updateId: string, purpose: string): number {
  return hash32(`${clientId}\u0001${updateId}\u0001${purpose}`, seed) / 4294967296;
}

/** IsInstalled of a non-leaf revision (categories always are: their rule is `<True />`). */
export function nonLeafInstalled(profile: Required<InstalledProfile>, seed: number, clientId: string, updateId: string, updateType: string): boolean {
  if (updateType === 'Category') return true;
  const share = updateType === 'Detectoid' ? profile.detectoids : profile.prerequisites;
  return share >= 1 || draw(seed, clientId, updateId, 'nonleaf') < share;
}

export function leafState(profile: Required<InstalledProfile>, seed: number, clientId: string, updateId: string): LeafState {
  const r = draw(seed, clientId, updateId, 'leaf');
  if (r < profile.installed) return 'installed';
  if (r < profile.installed + profile.notApplicable) return 'notApplicable';
  return 'needed';
}
