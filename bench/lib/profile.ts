// Where a --cpu-prof profile spent its time: self time by function and by file, biggest first.
//
//   node_modules/.bin/node bench/lib/profile.ts FILE.cpuprofile [--top 25]
//
// Self time is where the CPU was; inclusive (total) time of a function counts its callees too,
// each sample once per function however deep the recursion.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly byFunction: readonly (readonly [string, number])[];
  readonly byFile: readonly (readonly [string, number])[];
  /** Inclusive time by function. */
  readonly inclusive: readonly (readonly [string, number])[];
}

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  const nm = path.lastIndexOf('/node_modules/');
  return nm >= 0 ? path.slice(nm + 1) : relative(process.cwd(), path);
}

export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (frame: ProfileNode['callFrame']): string =>
    `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const frame = nodes.get(id)?.callFrame;
    if (frame === undefined) return;
    const file = shortUrl(frame.url);
    const fn = name(frame);
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms);
    byFile.set(file, (byFile.get(file) ?? 0) + ms);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const key = name(nodes.get(at)!.callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + ms);
    }
    total += ms;
  });
  const sorted = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1]);
  return { totalMs: total, byFunction: sorted(byFunction), byFile: sorted(byFile), inclusive: sorted(inclusive) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, match: { type: 'string' } },
  });
  const match = values.match === undefined ? undefined : new RegExp(values.match);
  const top = Number(values.top);
  for (const file of positionals) {
    const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
    const pct = (ms: number): string => `${((100 * ms) / summary.totalMs).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(6)} ms`;
    process.stdout.write(`${file}: ${summary.totalMs.toFixed(0)} ms sampled\n\nself time by file\n`);
    for (const [name, ms] of summary.byFile.slice(0, top)) process.stdout.write(`${pct(ms)}  ${name}\n`);
    process.stdout.write('\nself time by function\n');
    for (const [name, ms] of summary.byFunction.slice(0, top)) process.stdout.write(`${pct(ms)}  ${name}\n`);
    process.stdout.write(`\ninclusive time by function${match ? ` matching ${String(match)}` : ''}\n`);
    const inclusive = match ? summary.inclusive.filter(([name]) => match.test(name)) : summary.inclusive;
    for (const [name, ms] of inclusive.slice(0, top)) process.stdout.write(`${pct(ms)}  ${name}\n`);
    process.stdout.write('\n');
  }
}
