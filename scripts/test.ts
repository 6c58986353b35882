// The project's test command (`npm test`): type-check, then every test file with node's runner.
// Database tests run on SQLite always and on PostgreSQL when OPENWSUS_TEST_PG names a server
// (CI requires it: see .ci/run).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...testFiles(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

if (process.env.CI === 'true' && !process.env.OPENWSUS_TEST_PG) {
  console.error('CI=true but OPENWSUS_TEST_PG is not set: the PostgreSQL half of the suite would not run.');
  process.exit(1);
}

const only = process.argv.slice(2);
const typecheck = spawnSync('tsc', ['-p', '.'], { stdio: 'inherit', shell: process.platform === 'win32' });
if (typecheck.status !== 0) {
  console.error('Type check failed.');
  process.exit(typecheck.status ?? 1);
}

const files = only.length > 0 ? only : testFiles('test');
const run = spawnSync(
  process.execPath,
  ['--disable-warning=ExperimentalWarning', '--test', '--test-concurrency=2', '--test-timeout=300000', ...files],
  { stdio: 'inherit' },
);
process.exit(run.status ?? 1);
