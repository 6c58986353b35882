// `openwsus tokens`: API tokens for scripts and `--server`, on the database directly.
import type { Command } from 'commander';
import { CliError, commandContext, printJson } from '../context.ts';
import { withStore } from '../store.ts';
import { audit, run } from './accounts.ts';

export function registerTokens(program: Command): void {
  const tokens = program.command('tokens').description('API tokens for scripts and `--server`, on the database directly');

  tokens
    .command('create')
    .description('create an API token for an account; it is printed once')
    .argument('<name>', 'what the token is for, e.g. "nightly report"')
    .requiredOption('--account <name>', 'the account it acts as')
    .option('--expires <time>', 'when it stops working: 2027-01-01 or 2027-01-01T00:00Z')
    .option('--json', 'print as JSON')
    .action(async (name: string, options: { account: string; expires?: string; json?: boolean }, command: Command) => {
      const context = commandContext(command);
      const { createToken } = await import('../../admin/operations/accounts.ts');
      const { parseDeadline } = await import('../../admin/operations/updates.ts');
      const expiresAt = options.expires === undefined ? undefined : await run(async () => parseDeadline(options.expires!));
      const created = await withStore(context, (store) =>
        run(async () => {
          const token = await createToken(store, { name, account: options.account, createdBy: `cli:${process.env.USER ?? 'unknown'}`, ...(expiresAt !== undefined && { expiresAt }) });
          await audit(store, 'tokens.create', String(token.id), { name: token.name, account: token.account, prefix: token.prefix, expiresAt: token.expiresAt ?? null });
          return token;
        }),
      );
      if (options.json) return printJson(created);
      process.stdout.write(`${created.token}\n`);
      process.stderr.write(`openwsus: token ${created.id} for "${created.account}"${created.expiresAt ? `, expires ${created.expiresAt}` : ''}: store it now, it is not shown again\n`);
    });

  tokens
    .command('list')
    .description('API tokens (never their secret)')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const context = commandContext(command);
      const list = await withStore(context, (store) => store.accounts.listTokens());
      if (options.json) return printJson(list);
      for (const t of list) {
        const state = t.revokedAt ? `revoked ${t.revokedAt}` : t.expiresAt && t.expiresAt <= new Date().toISOString() ? `expired ${t.expiresAt}` : 'active';
        process.stdout.write(`${String(t.id).padStart(4)}  ${t.prefix}…  ${t.account.padEnd(16)} ${t.name}  (${state})\n`);
      }
    });

  tokens
    .command('revoke')
    .description('revoke an API token')
    .argument('<id>', 'the token id (see tokens list)')
    .action(async (id: string, _options: unknown, command: Command) => {
      const context = commandContext(command);
      if (!/^\d+$/.test(id)) throw new CliError(`"${id}" is not a token id (see openwsus tokens list)`, 2);
      const { revokeToken } = await import('../../admin/operations/accounts.ts');
      await withStore(context, (store) =>
        run(async () => {
          const t = await revokeToken(store, Number(id));
          await audit(store, 'tokens.revoke', id, { name: t.name, account: t.account });
        }),
      );
      process.stdout.write(`revoked token ${id}\n`);
    });
}
