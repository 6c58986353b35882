// Reading and changing the run-time settings (domain/settings.ts): shared by the REST API and
// `openwsus config`. Secrets are sealed before they are stored and never shown; on a replica the
// settings it takes from its upstream are refused.
import { REPLICA_OWNED_SETTINGS, refuseOnReplica } from '../../domain/replica-guard.ts';
import {
  displaySettingValue,
  resolveDownstreamSettings,
  SETTING_DEFINITIONS,
  SettingError,
  settingDefinition,
  validateSettingValue,
  type SettingDefinition,
} from '../../domain/settings.ts';
import type { Store } from '../../store/index.ts';
import { sealSecret } from '../../sync/secrets.ts';
import { ApiProblem } from '../problem.ts';

export interface SettingView {
  readonly key: string;
  readonly kind: string;
  readonly description: string;
  readonly allowed: string;
  readonly choices?: readonly string[];
  readonly value: unknown;
  readonly default: unknown;
  readonly isDefault: boolean;
  readonly secret: boolean;
  readonly replicaOwned: boolean;
}

function view(d: SettingDefinition, stored: Readonly<Record<string, unknown>>): SettingView {
  const isSet = stored[d.key] !== undefined;
  return {
    key: d.key,
    kind: d.kind,
    description: d.description,
    allowed: d.allowed,
    ...(d.choices !== undefined && { choices: d.choices }),
    value: displaySettingValue(d.key, isSet ? stored[d.key] : d.default) ?? null,
    default: d.default ?? null,
    isDefault: !isSet,
    secret: d.kind === 'secret',
    replicaOwned: REPLICA_OWNED_SETTINGS.includes(d.key),
  };
}

export async function settingViews(store: Store): Promise<{ settings: SettingView[]; problems: { key: string; reason: string }[] }> {
  const stored = await store.settings.all();
  return { settings: SETTING_DEFINITIONS.map((d) => view(d, stored)), problems: resolveDownstreamSettings(stored).problems };
}

/** The definition of a known setting, or 404. */
export function knownSetting(key: string): SettingDefinition {
  try {
    return settingDefinition(key);
  } catch (error) {
    if (error instanceof SettingError) throw new ApiProblem(404, error.message);
    throw error;
  }
}

export async function settingView(store: Store, key: string): Promise<SettingView> {
  return view(knownSetting(key), await store.settings.all());
}

/**
 * A value as the API receives it (the stored JSON form; a secret as its clear text), validated.
 * `field` names it in the problem (`body.value`, `body.upstream.port`).
 */
export function checkSettingValue(key: string, value: unknown, field: string): unknown {
  const d = knownSetting(key);
  if (d.kind === 'secret') {
    if (typeof value !== 'string' || value === '' || value.length > 1024) throw new ApiProblem(400, `${key}: expected ${d.allowed} (a non-empty string)`, { errors: [{ field, message: 'a non-empty string' }] });
    return value;
  }
  try {
    return validateSettingValue(key, value);
  } catch (error) {
    if (error instanceof SettingError) throw new ApiProblem(400, error.message, { errors: [{ field, message: error.message }] });
    throw error;
  }
}

async function refuseReplicaOwned(store: Store, keys: readonly string[], verb: string): Promise<void> {
  const owned = keys.filter((k) => REPLICA_OWNED_SETTINGS.includes(k));
  if (owned.length === 0) return;
  refuseOnReplica(resolveDownstreamSettings(await store.settings.all()).settings, `${verb} ${owned.join(', ')}`);
}

/**
 * Stores checked values (checkSettingValue or parseSettingText), all in one transaction; secrets
 * sealed. Refused (ReplicaChangeRefused) for a replica's own settings.
 */
export async function applySettings(store: Store, values: Readonly<Record<string, unknown>>): Promise<void> {
  const keys = Object.keys(values);
  await refuseReplicaOwned(store, keys, 'set');
  const sealed: Record<string, unknown> = {};
  for (const key of keys) sealed[key] = settingDefinition(key).kind === 'secret' ? await sealSecret(store.settings, String(values[key])) : values[key];
  await store.transaction(async (tx) => {
    for (const key of keys) await tx.settings.set(key, sealed[key]);
  });
}

/** Forgets a setting: its default applies again. */
export async function unsetSetting(store: Store, key: string): Promise<void> {
  knownSetting(key);
  await refuseReplicaOwned(store, [key], 'unset');
  await store.settings.delete(key);
}
