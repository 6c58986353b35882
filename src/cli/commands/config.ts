// `openwsus config`: the run-time settings (domain/settings.ts) as the store keeps them.
import type { Command } from 'commander';
import { CliError, commandContext, printJson } from '../context.ts';
import { remoteClient } from '../api-client.ts';
import { withStore } from '../store.ts';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('show and change the settings (upstream, proxy, products, classifications, languages, schedule, content)');

  config
    .command('get')
    .description('show every setting, or one (secrets show as ********)')
    .argument('[key]', 'a setting such as upstream.server')
    .option('--json', 'print as JSON')
    .action(async (key: string | undefined, options: { json?: boolean }, command: Command) => {
      const context = commandContext(command);
      const remote = remoteClient(command);
      if (remote !== undefined) return (await import('../remote.ts')).remoteConfigGet(remote, key, options);
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
    .description('change settings, one KEY VALUE pair or several (written together, or none if one is wrong); lists are comma-separated (products, classifications, languages)')
    .argument('<key>', 'a setting such as upstream.server (see config get)')
    .argument('<value>', 'its new value')
    .argument('[more...]', 'further KEY VALUE pairs')
    .action(async (key: string, value: string, more: string[], _options: unknown, command: Command) => {
      const context = commandContext(command);
      const { SettingError, parseSettingText, settingDefinition } = await import('../../domain/settings.ts');
      if (more.length % 2 !== 0) throw new CliError(`config set takes KEY VALUE pairs; "${more[more.length - 1]}" has no value`, 2);
      const pairs: { key: string; value: unknown; secret: boolean }[] = [];
      const given = [key, value, ...more];
      for (let i = 0; i < given.length; i += 2) {
        try {
          const k = given[i]!;
          pairs.push({ key: k, value: parseSettingText(k, given[i + 1]!), secret: settingDefinition(k).kind === 'secret' });
        } catch (error) {
          if (error instanceof SettingError) throw new CliError(error.message, 2);
          throw error;
        }
      }
      const remote = remoteClient(command);
      if (remote !== undefined) return (await import('../remote.ts')).remoteConfigSet(remote, Object.fromEntries(pairs.map((p) => [p.key, p.value])));
      // Judged on the settings as they were (products chosen with upstream.replica in one command
      // are the selection made before the server became a replica); secrets sealed; all in one
      // transaction: as the API does it (admin/operations/settings.ts).
      const { applySettings } = await import('../../admin/operations/settings.ts');
      await withStore(context, (store) => applySettings(store, Object.fromEntries(pairs.map((p) => [p.key, p.value]))));
      for (const p of pairs) process.stdout.write(`${p.key} = ${p.secret ? '********' : Array.isArray(p.value) ? p.value.join(',') : String(p.value)}\n`);
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
      const { unsetSetting } = await import('../../admin/operations/settings.ts');
      await withStore(context, (store) => unsetSetting(store, key));
      const shown = displaySettingValue(key, d.default);
      process.stdout.write(`${key} unset${shown === undefined ? '' : ` (default: ${Array.isArray(shown) ? shown.join(',') : String(shown)})`}\n`);
    });
}
