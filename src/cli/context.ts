// What every command needs: the boot configuration from flags, file and environment, a logger
// on stderr (stdout is the command's output), and failures turned into messages that say what to fix.
import type { Command } from 'commander';
import { loadBootConfig, type BootConfig } from '../app/config.ts';
import { createLogger, type Logger } from '../app/log.ts';

/** A failure the user can fix; its message is printed as is. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

export interface CommandContext {
  readonly config: BootConfig;
  readonly logger: Logger;
}

interface GlobalFlags {
  data?: string;
  database?: string;
  config?: string;
  logLevel?: string;
}

export function commandContext(command: Command, extraFlags: Partial<Record<keyof BootConfig, string | number | undefined>> = {}): CommandContext {
  const flags = command.optsWithGlobals<GlobalFlags>();
  const config = loadBootConfig({
    configFile: flags.config,
    flags: { data: flags.data, database: flags.database, logLevel: flags.logLevel, ...extraFlags },
  });
  // Commands report progress and results themselves; their logs stay quiet unless asked.
  const level = flags.logLevel ?? process.env.OPENWSUS_LOG_LEVEL ?? 'warn';
  return { config, logger: createLogger(level as BootConfig['logLevel'], 2) };
}

/** Parses a whole number flag or says which flag is wrong. */
export function integerFlag(name: string, value: string, min = 0): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new CliError(`${name} must be a whole number >= ${min}, got "${value}"`, 2);
  return n;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
