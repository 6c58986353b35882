// `openwsus`: the command-line entry point. Each command lives in its own module under commands/.
import { Command, CommanderError } from 'commander';
import { VERSION } from '../app/version.ts';
import { CliError } from './context.ts';
import { registerServe } from './commands/serve.ts';
import { registerTransfer } from './commands/transfer.ts';
import { registerCatalog } from './commands/catalog.ts';
import { registerInspect } from './commands/inspect.ts';
import { registerContent } from './commands/content.ts';
import { registerDemo } from './commands/demo.ts';
import { registerConfig } from './commands/config.ts';
import { registerSync } from './commands/sync.ts';
import { registerGroups } from './commands/groups.ts';
import { registerUpdates } from './commands/updates.ts';
import { registerComputers } from './commands/computers.ts';
import { registerSimulateClients } from './commands/simulate-clients.ts';
import { registerRules } from './commands/rules.ts';
import { registerAccounts } from './commands/accounts.ts';
import { registerTokens } from './commands/tokens.ts';
import { addRemoteOptions } from './api-client.ts';
import { registerCleanup } from './commands/cleanup.ts';
import { registerDownstream, registerRollup } from './commands/downstream.ts';

/** Errors whose message already tells the user what is wrong and what to fix. */
const EXPLAINED = new Set([
  'CliError',
  'ConfigError',
  'ExportFormatError',
  'CabinetError',
  'XmlError',
  'UpdateDocumentError',
  'DigestMismatchError',
  'StoreError',
  // A replica refusing a local change of approvals, groups, declines, products or classifications.
  'ReplicaChangeRefused',
]);

/** File-system failures an admin fixes by pointing at another path or fixing permissions. */
const FILE_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
  EEXIST: 'already exists',
};

export function buildProgram(): Command {
  const program = new Command('openwsus')
    .description('An update server that speaks the WSUS protocols.')
    .version(VERSION)
    .option('--data <dir>', 'data directory holding the database and content (env OPENWSUS_DATA; default ./data)')
    .option('--database <url>', 'SQLite file path or postgres://user@host/db (env OPENWSUS_DATABASE; default <data>/openwsus.db)')
    .option('--config <file>', 'JSON config file with any of the settings above (env OPENWSUS_CONFIG; default <data>/openwsus.json)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env OPENWSUS_LOG_LEVEL)')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  registerServe(program);
  registerTransfer(program);
  registerCatalog(program);
  registerInspect(program);
  registerContent(program);
  registerDemo(program);
  registerConfig(program);
  registerSync(program);
  registerGroups(program);
  registerUpdates(program);
  registerComputers(program);
  registerAccounts(program);
  registerTokens(program);
  registerSimulateClients(program);
  registerRules(program);
  registerCleanup(program);
  registerRollup(program);
  registerDownstream(program);
  // After every command it names is registered.
  addRemoteOptions(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

function explain(error: unknown): { message: string; code: number } {
  // Commander has printed its own message; help and version end well, anything else is a usage error.
  if (error instanceof CommanderError) return { message: '', code: error.exitCode === 0 ? 0 : 2 };
  const e = error as Error;
  if (e instanceof CliError) return { message: e.message, code: e.exitCode };
  if (EXPLAINED.has(e?.name)) return { message: e.message, code: 1 };
  const fsError = e as NodeJS.ErrnoException;
  if (fsError?.path && fsError.code && FILE_ERRORS[fsError.code]) {
    return { message: `cannot use ${fsError.path}: ${FILE_ERRORS[fsError.code]}`, code: 1 };
  }
  const hint = process.env.OPENWSUS_DEBUG ? `\n${e?.stack ?? ''}` : ' (set OPENWSUS_DEBUG=1 to see where)';
  return { message: `unexpected error: ${e?.message ?? String(error)}${hint}`, code: 1 };
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    const { message, code } = explain(error);
    if (message) process.stderr.write(`openwsus: ${message}\n`);
    return code;
  }
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  // Servers keep running; commands end when their work is done.
  if (code !== 0) process.exit(code);
  process.exitCode = code;
}
