// The generated catalog export the benchmarks share: one file per size and seed under bench/out,
// generated once (a 100k-revision catalog takes a while) and reused by every benchmark after.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeGeneratedCatalog } from '../../src/catalog/export.ts';
import { formatInteger } from './table.ts';

const BENCH = dirname(dirname(fileURLToPath(import.meta.url)));
const OUT = join(BENCH, 'out');
const ROOT = dirname(BENCH);

export async function generatedCatalogFile(size: number, seed: string, options: { regenerate?: boolean } = {}): Promise<string> {
  const file = join(OUT, `catalog-${size}-seed-${seed}.owx`);
  if (existsSync(file) && options.regenerate !== true) return file;
  mkdirSync(OUT, { recursive: true });
  process.stderr.write(`generating ${relative(ROOT, file)} (${formatInteger(size)} revisions, seed ${seed})…\n`);
  const start = performance.now();
  await writeGeneratedCatalog({ updates: size, seed }, file);
  process.stderr.write(`  generated in ${((performance.now() - start) / 1000).toFixed(1)} s\n`);
  return file;
}
