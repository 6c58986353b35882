// `openwsus simulate-clients`: simulated Windows Update clients scan a server (src/simulator/),
// and what each was offered, downloaded and reported is printed. Needs no data directory: it is
// a client of the server at --server.
import type { Command } from 'commander';
import { CliError, integerFlag, printJson } from '../context.ts';

interface Options {
  server: string;
  count: string;
  group?: string;
  seed: string;
  concurrency: string;
  scans: string;
  download: boolean;
  install?: boolean;
  installed: string;
  notApplicable: string;
  json?: boolean;
}

function fraction(name: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1)) throw new CliError(`${name} must be a number between 0 and 1, got "${value}"`, 2);
  return n;
}

function serverUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    throw new CliError(`--server must be a URL such as http://wsus.example:8530, got "${value}"`, 2);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--server must be an http:// or https:// URL, got "${value}"`, 2);
  return url.origin;
}

export function registerSimulateClients(program: Command): void {
  program
    .command('simulate-clients')
    .description('simulated Windows Update clients register, scan, download and report against a server')
    .requiredOption('--server <url>', 'the server clients point at (WUServer), e.g. http://127.0.0.1:8530')
    .requiredOption('--count <n>', 'how many computers')
    .option('--group <name>', 'client-side targeting group name(s) the computers send (TargetGroup policy; ";" separates several)')
    .option('--seed <n>', 'fixes computer ids and what they have installed: the same seed gives the same computers', '1')
    .option('--concurrency <n>', 'computers scanning at the same time', '16')
    .option('--scans <n>', 'scans per computer (the second and later are incremental)', '1')
    .option('--no-download', 'do not download content')
    .option('--install', 'install what downloaded (events 181/183): later scans find it installed')
    .option('--installed <share>', 'share of leaf updates each computer has installed already', '0.3')
    .option('--not-applicable <share>', 'share of leaf updates that do not apply to a computer', '0.2')
    .option('--json', 'print every scan as JSON (for scripts)')
    .action(async (options: Options) => {
      const url = serverUrl(options.server);
      const count = integerFlag('--count', options.count, 1);
      const seed = integerFlag('--seed', options.seed, 0);
      const concurrency = integerFlag('--concurrency', options.concurrency, 1);
      const scans = integerFlag('--scans', options.scans, 1);
      const installed = fraction('--installed', options.installed);
      const notApplicable = fraction('--not-applicable', options.notApplicable);
      if (installed + notApplicable > 1) throw new CliError('--installed and --not-applicable together must not exceed 1', 2);
      const { simulateClients, getConfig } = await import('../../simulator/index.ts');

      // One probe first: an unreachable or foreign server is one clear message, not N failures.
      try {
        await getConfig({ serverUrl: url, timeoutMs: 15_000 });
      } catch (error) {
        throw new CliError(`cannot reach a WSUS client service at ${url}: ${(error as Error).message}`);
      }

      const progress = !options.json && process.stderr.isTTY;
      let done = 0;
      const total = count * scans;
      const results = await simulateClients({
        serverUrl: url,
        count,
        seed,
        concurrency,
        scans,
        ...(options.group !== undefined ? { group: options.group } : {}),
        download: options.download,
        install: options.install === true,
        profile: { installed, notApplicable },
        onResult: () => {
          done++;
          if (progress) process.stderr.write(`\r${done}/${total} scans`);
        },
      });
      if (progress) process.stderr.write('\n');
      const failed = results.filter((r) => !r.ok);

      if (options.json) {
        printJson(results);
      } else {
        const rows = [
          ['COMPUTER', 'SCAN', 'OFFERED', 'INSTALL', 'NEEDED', 'INSTALLED', 'DOWNLOADED', 'REPORTED', 'MS', 'RESULT'],
          ...results.map((r) => {
            const downloaded = r.downloads.filter((d) => d.ok);
            const bytes = downloaded.reduce((n, d) => n + d.bytes, 0);
            return [
              r.dnsName,
              `${r.scan} ${r.kind}`,
              String(r.offered.length),
              String(r.offered.filter((u) => u.action === 'Install').length),
              String(r.offered.filter((u) => u.state === 'needed').length),
              String(r.offered.filter((u) => u.state === 'installed').length),
              `${downloaded.length}/${r.downloads.length} (${bytes} B)`,
              r.reported === undefined ? '-' : `${r.reported.eventIds.length} events${r.reported.accepted ? '' : ' refused'}`,
              String(Math.round(r.timings.totalMs)),
              r.ok ? 'ok' : `FAILED: ${r.error}`,
            ];
          }),
        ];
        const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
        for (const row of rows) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
        const approved = new Map<string, { title: string; action: string; computers: number; downloaded: number }>();
        for (const r of results) {
          for (const u of r.offered) {
            if (u.action !== 'Install' && u.action !== 'Uninstall') continue;
            const entry = approved.get(u.updateId) ?? { title: u.title ?? '', action: u.action, computers: 0, downloaded: 0 };
            entry.computers++;
            if (r.downloads.some((d) => d.updateId === u.updateId && d.ok)) entry.downloaded++;
            if (entry.title === '' && u.title !== undefined) entry.title = u.title;
            approved.set(u.updateId, entry);
          }
        }
        if (approved.size > 0) {
          process.stdout.write('\nupdates approved for these computers (offered to / downloaded by, over all scans):\n');
          for (const [id, e] of approved) process.stdout.write(`  ${id}  ${e.action.padEnd(9)}  ${String(e.computers).padStart(5)} / ${String(e.downloaded).padEnd(5)}  ${e.title}\n`);
        }
      }
      if (failed.length > 0) throw new CliError(`${failed.length} of ${results.length} scans failed; first: ${failed[0]!.dnsName}: ${failed[0]!.error}`);
    });
}
