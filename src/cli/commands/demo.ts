// `openwsus demo`: the README's main job. A root, an autonomous downstream and a replica on
// loopback, synchronized, with approvals, simulated computers and a rollup (src/cli/demo/).
import type { Command } from 'commander';
import { CliError, integerFlag } from '../context.ts';

interface DemoFlags {
  updates: string;
  clients: string;
  port: string;
  reset?: boolean;
  serve: boolean;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('start a three-server hierarchy on loopback (root, downstream, replica) with a sample catalog, approvals and simulated computers; data in ./demo-data unless --data is given')
    .option('--updates <n>', 'revisions in the generated sample catalog the root serves', '1500')
    .option('--clients <n>', 'simulated computers scanning each of the downstream and the replica', '10')
    .option('--port <base>', 'root on BASE, downstream on BASE+1, replica on BASE+2', '8530')
    .option('--reset', 'remove the demo data directory first and start over')
    .option('--no-serve', 'set everything up, print where to look, stop the servers and exit')
    .action(async (options: DemoFlags, command: Command) => {
      const flags = command.optsWithGlobals<{ data?: string; database?: string; logLevel?: string }>();
      if (flags.database !== undefined) throw new CliError('the demo keeps its three servers in SQLite databases under --data; --database is not used here', 2);
      const updates = integerFlag('--updates', options.updates, 67);
      const clients = integerFlag('--clients', options.clients, 1);
      const basePort = integerFlag('--port', options.port, 1);
      if (basePort + 2 > 65535) throw new CliError(`--port must leave room for three ports (BASE to BASE+2 <= 65535), got ${basePort}`, 2);
      const { createLogger } = await import('../../app/log.ts');
      const { ADMIN_PASSWORD_ENV } = await import('../../admin/operations/accounts.ts');
      const { runDemo } = await import('../demo/hierarchy.ts');
      const started = performance.now();
      const say = (line: string): void => void process.stderr.write(`${line}\n`);
      // The servers' structured logs stay quiet unless asked: the demo prints its own progress.
      const level = (flags.logLevel ?? process.env.OPENWSUS_LOG_LEVEL ?? 'error') as Parameters<typeof createLogger>[0];
      const given = process.env[ADMIN_PASSWORD_ENV];
      const demo = await runDemo({
        data: flags.data ?? './demo-data',
        basePort,
        updates,
        clients,
        reset: options.reset === true,
        password: given !== undefined && given !== '' ? given : undefined,
        logger: createLogger(level, 2),
        say,
      });
      const seconds = ((performance.now() - started) / 1000).toFixed(0);
      const url = (role: string): string => `${demo.servers.find((s) => s.role === role)!.url}/admin/`;
      process.stdout.write(
        [
          '',
          `openwsus demo: three servers on loopback, ready in ${seconds} s (data in ${demo.data})`,
          '',
          `  root        ${url('root')}  ${demo.revisions} revisions, the Microsoft Update stand-in`,
          `  downstream  ${url('downstream')}  syncs from the root; groups Pilot and Production, ${demo.approvals} approvals, ${demo.computers.downstream} computers`,
          `  replica     ${url('replica')}  replica of the downstream, ${demo.computers.replica} computers`,
          '',
          `  sign in as  admin  /  ${demo.password}`,
          `              (the same on all three; new each run unless ${ADMIN_PASSWORD_ENV} is set)`,
          '',
          `  the root sees ${demo.rolledUp.servers} downstream servers and ${demo.rolledUp.computers} computers through rollup (Downstream servers page)`,
          '',
          `  more computers:  npx openwsus simulate-clients --server ${url('downstream').replace(/\/admin\/$/, '')} --count 5 --group Pilot`,
          options.serve ? '  stop:            Ctrl-C (stops all three)' : '  --no-serve: the servers are stopped; run again without it to serve',
          '',
        ].join('\n'),
      );
      if (!options.serve) {
        await demo.close();
        return;
      }
      let stopping = false;
      const stop = (): void => {
        if (stopping) return;
        stopping = true;
        say('stopping the replica, the downstream and the root…');
        demo.close().then(
          () => process.exit(0),
          (error: Error) => {
            say(`openwsus: stopping failed: ${error.message}`);
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
