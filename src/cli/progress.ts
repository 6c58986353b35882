// Progress for long-running commands: a bar on a terminal, structured log lines otherwise
// (CI logs, systemd journals), at most one line every few seconds.
import cliProgress from 'cli-progress';
import type { Logger } from '../app/log.ts';

export interface Progress {
  /** `done` of `total` (total may change as work is discovered). */
  update(done: number, total?: number, detail?: Record<string, unknown>): void;
  stop(summary?: Record<string, unknown>): void;
}

export function createProgress(label: string, logger: Logger, options: { total?: number; unit?: string } = {}): Progress {
  const unit = options.unit ?? 'items';
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {eta_formatted} left`, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    bar.start(options.total ?? 0, 0);
    return {
      update(done, total) {
        if (total !== undefined) bar.setTotal(total);
        bar.update(done);
      },
      stop() {
        bar.stop();
      },
    };
  }
  let last = 0;
  let total = options.total;
  const started = Date.now();
  return {
    update(done, newTotal, detail) {
      if (newTotal !== undefined) total = newTotal;
      const now = Date.now();
      if (now - last < 2000) return;
      last = now;
      logger.info({ progress: label, done, total, unit, elapsedMs: now - started, ...detail }, `${label}: ${done}${total ? `/${total}` : ''} ${unit}`);
    },
    stop(summary) {
      logger.info({ progress: label, finished: true, elapsedMs: Date.now() - started, ...summary }, `${label}: done`);
    },
  };
}
