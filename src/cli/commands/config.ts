// `openwsus config`: the run-time settings (domain/settings.ts) as the store keeps them.
import type { Command } from 'commander';
import { CliError, commandContext, printJson } from '../context.ts';
import { withStore } from '../store.ts';

/** On a replica, products and classifications come from the upstream: changing them here is refused. */
async function refuseReplicaOwned(settings: { all(): Promise<Record<string, unknown>> }, key: string, verb: string): Promise<void> {
  const { REPLICA_OWNED_SETTINGS, ReplicaChangeRefused, refuseOnReplica } = await import('../../domain/replica-guard.ts');
  if (!REPLICA_OWNED_SETTINGS.includes(key)) return;
  const { resolveDownstreamSettings } = await import('../../domain/settings.ts');
  try {
    refuseOnReplica(resolveDownstreamSettings(await settings.all()).settings, `${verb} ${key}`);
  } catch (error) {
    if (error instanceof ReplicaChangeRefused) throw new CliError(error.message, 1);
    throw error;
  }
}

export function registerConfig(program: Command): void {
  const config = program.command('config').description('show and change the settings (upstream, proxy, products, classifications, languages, schedule, content)');

  config
    .command('get')
    .description('show every setting, or one (secrets show as ********)')
    .argument('[key]', 'a setting such as upstream.server')
    .option('--json', 'print as JSON')
    .action(async (key: string | undefined, options: { json?: boolean }, command: Command) => {
      const context = commandContext(command);
      const { SETTING_DEFINITIONS, SettingError, displaySettingValue, settingDefinition } = await import('../../domain/settings.ts');
      const definitions = (() => {
        try {
          return key === undefined ? SETTING_DEFINITIONS : [settingDefinition(key)];
        } catch (error) {
          if (error instanceof SettingError) throw new CliError(error.message, 2);
          throw error;
        }
      })();
      const stored = await withStore(context, (store) => store.settings.all());
      const rows = definitions.map((d) => {
        const isSet = stored[d.key] !== undefined;
        const value = displaySettingValue(d.key, isSet ? stored[d.key] : d.default);
        return { key: d.key, value, isDefault: !isSet, description: d.description };
      });
      if (options.json) {
        printJson(key === undefined ? Object.fromEntries(rows.map((r) => [r.key, r.value ?? null])) : (rows[0]!.value ?? null));
        return;
      }
      const show = (v: unknown): string => (v === undefined ? '(not set)' : Array.isArray(v) ? v.join(',') : String(v));
      if (key !== undefined) {
        process.stdout.write(`${show(rows[0]!.value)}\n`);
        return;
      }
      const width = Math.max(...rows.map((r) => r.key.length));
      for (const r of rows) process.stdout.write(`${r.key.padEnd(width)}  ${show(r.value)}${r.isDefault && r.value !== undefined ? '  (default)' : ''}\n`);
    });

  config
    .command('set')
    .description('change a setting; lists are comma-separated (products, classifications, languages)')
    .argument('<key>', 'a setting such as upstream.server (see config get)')
    .argument('<value>', 'its new value')
    .action(async (key: string, value: string, _options: unknown, command: Command) => {
      const context = commandContext(command);
      const { SettingError, parseSettingText, settingDefinition } = await import('../../domain/settings.ts');
      let parsed: unknown;
      try {
        parsed = parseSettingText(key, value);
      } catch (error) {
        if (error instanceof SettingError) throw new CliError(error.message, 2);
        throw error;
      }
      const secret = settingDefinition(key).kind === 'secret';
      await withStore(context, async (store) => {
        await refuseReplicaOwned(store.settings, key, 'set');
        if (secret) {
          const { sealSecret } = await import('../../sync/secrets.ts');
          parsed = await sealSecret(store.settings, String(parsed));
        }
        await store.settings.set(key, parsed);
      });
      process.stdout.write(`${key} = ${secret ? '********' : Array.isArray(parsed) ? parsed.join(',') : String(parsed)}\n`);
    });

  config
    .command('unset')
    .description('forget a setting: its default applies again')
    .argument('<key>', 'a setting such as proxy.password')
    .action(async (key: string, _options: unknown, command: Command) => {
      const context = commandContext(command);
      const { SettingError, settingDefinition, displaySettingValue } = await import('../../domain/settings.ts');
      let d;
      try {
        d = settingDefinition(key);
      } catch (error) {
        if (error instanceof SettingError) throw new CliError(error.message, 2);
        throw error;
      }
      await withStore(context, async (store) => {
        await refuseReplicaOwned(store.settings, key, 'unset');
        await store.settings.delete(key);
      });
      const shown = displaySettingValue(key, d.default);
      process.stdout.write(`${key} unset${shown === undefined ? '' : ` (default: ${Array.isArray(shown) ? shown.join(',') : String(shown)})`}\n`);
    });
}
