// Running one measurement in its own Node process, so its peak RSS belongs to it alone.
//
// Parent: `runChild(script, args)` starts `node script …args`, lets the child's stderr through
// (progress) and returns the JSON object the child printed as the last line of its stdout.
// Child: `reportResult(value)` prints that line, with the process's peak RSS added.
import { spawn } from 'node:child_process';

export interface ChildOptions {
  /** Node flags put before the script, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

export interface ChildReport {
  /** `process.resourceUsage().maxRSS` when the child reported, in KiB: the child's peak RSS. */
  readonly maxRssKiB: number;
}

export function runChild<T extends object>(script: string, args: readonly string[], options: ChildOptions = {}): Promise<T & ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', ...(options.nodeArgs ?? []), script, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: options.env ?? process.env,
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`${script} ${args.join(' ')} exited with ${signal ?? `code ${String(code)}`}`));
        return;
      }
      const last = out.trimEnd().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last) as T & ChildReport);
      } catch {
        reject(new Error(`${script} ${args.join(' ')} printed no result line (stdout: ${JSON.stringify(out.slice(-500))})`));
      }
    });
  });
}

/** In the child, last thing before exiting: prints `value` plus the peak RSS for `runChild`. */
export function reportResult(value: object): void {
  const report: ChildReport = { maxRssKiB: process.resourceUsage().maxRSS };
  process.stdout.write(JSON.stringify({ ...value, ...report }) + '\n');
}
