// `openwsus accounts`: administration accounts, on the database directly (for bootstrapping a
// server, or when every administrator is locked out).
import type { Command } from 'commander';
import { CliError, commandContext, printJson } from '../context.ts';
import { withStore } from '../store.ts';

/** The password from --password-stdin or OPENWSUS_PASSWORD; never from a flag (shell history). */
async function readPassword(options: { passwordStdin?: boolean }): Promise<string> {
  let text: string | undefined;
  if (options.passwordStdin) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  } else {
    text = process.env.OPENWSUS_PASSWORD;
  }
  if (text === undefined || text === '') throw new CliError('give the password on standard input with --password-stdin, or in OPENWSUS_PASSWORD', 2);
  return text;
}

/** Operations refuse with ApiProblems; on the command line they are messages (400 = usage). */
export async function run<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if ((error as Error).name === 'ApiProblem') throw new CliError((error as Error).message, (error as { status: number }).status === 400 ? 2 : 1);
    throw error;
  }
}

const ROLE_NAMES: Readonly<Record<string, 'Administrators' | 'Reporters'>> = { administrators: 'Administrators', administrator: 'Administrators', admin: 'Administrators', reporters: 'Reporters', reporter: 'Reporters' };

function role(text: string): 'Administrators' | 'Reporters' {
  const found = ROLE_NAMES[text.trim().toLowerCase()];
  if (found === undefined) throw new CliError(`--role must be Administrators or Reporters, got "${text}"`, 2);
  return found;
}

export async function audit(store: import('../../store/index.ts').Store, action: string, target: string, detail: unknown): Promise<void> {
  const actor = (process.env.USER ?? process.env.USERNAME ?? '').trim() || 'cli';
  await store.audit.record({ actor, via: 'cli', action, target, detail });
}

export function registerAccounts(program: Command): void {
  const accounts = program.command('accounts').description('administration accounts (Administrators change, Reporters read), on the database directly');

  accounts
    .command('create')
    .description('create an account; the password comes from standard input (--password-stdin) or OPENWSUS_PASSWORD')
    .argument('<name>', 'account name (letters, digits, . _ @ -)')
    .option('--role <role>', 'Administrators or Reporters', 'Reporters')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (name: string, options: { role: string; passwordStdin?: boolean }, command: Command) => {
      const context = commandContext(command);
      const wanted = role(options.role);
      const password = await readPassword(options);
      const { createAccount } = await import('../../admin/operations/accounts.ts');
      const account = await withStore(context, (store) =>
        run(async () => {
          const created = await createAccount(store, { name, role: wanted, password });
          await audit(store, 'accounts.create', created.name, { role: created.role });
          return created;
        }),
      );
      process.stdout.write(`created account "${account.name}" (${account.role})\n`);
    });

  accounts
    .command('list')
    .description('accounts with their role and last sign-in')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const context = commandContext(command);
      const list = await withStore(context, (store) => store.accounts.list());
      const rows = list.map((a) => ({ name: a.name, role: a.role, disabled: a.disabled, createdAt: a.createdAt, lastLoginAt: a.lastLoginAt ?? null }));
      if (options.json) return printJson(rows);
      for (const r of rows) process.stdout.write(`${r.name.padEnd(24)} ${r.role.padEnd(15)} ${r.disabled ? 'disabled' : 'enabled '}  last sign-in ${r.lastLoginAt ?? 'never'}\n`);
    });

  accounts
    .command('delete')
    .description('delete an account with its sessions and tokens (not the last Administrator)')
    .argument('<name>', 'account name')
    .action(async (name: string, _options: unknown, command: Command) => {
      const context = commandContext(command);
      const { deleteAccount } = await import('../../admin/operations/accounts.ts');
      await withStore(context, (store) =>
        run(async () => {
          await deleteAccount(store, name);
          await audit(store, 'accounts.delete', name, null);
        }),
      );
      process.stdout.write(`deleted account "${name}"\n`);
    });

  accounts
    .command('passwd')
    .description('set an account\'s password (and unlock it); its sessions end')
    .argument('<name>', 'account name')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (name: string, options: { passwordStdin?: boolean }, command: Command) => {
      const context = commandContext(command);
      const password = await readPassword(options);
      const { changeAccount } = await import('../../admin/operations/accounts.ts');
      await withStore(context, (store) =>
        run(async () => {
          await changeAccount(store, name, { password });
          await audit(store, 'accounts.password', name, null);
        }),
      );
      process.stdout.write(`password of "${name}" changed\n`);
    });
}
