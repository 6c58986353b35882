// Builds the optional native pieces (`native/*.c`) into `build/native/*.node`; run by `npm ci` and
// `npm install` (the package's `install` script). They are optional: without a C compiler or
// Node's headers the server falls back to plain JavaScript paths, so this never fails an install.
// It only says what it did. Node-API is ABI-stable, so any Node's headers do (the carried Node's
// first, then the machine's).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'build', 'native');

/** Linux only: sendfile(2) and the descriptor tricks are Linux's. */
const MODULES = [{ name: 'sendfile', source: join(ROOT, 'native', 'sendfile.c') }];

function headerDirectory(): string | undefined {
  const bin = dirname(process.execPath);
  const candidates = [
    join(bin, '..', 'include', 'node'),
    // npm's `node` package: the binary in node/bin, the rest of the release in its platform package.
    join(bin, '..', 'node_modules', `node-${process.platform}-${process.arch}`, 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ];
  return candidates.find((dir) => existsSync(join(dir, 'node_api.h')) && existsSync(join(dir, 'uv.h')));
}

function main(): void {
  if (process.platform !== 'linux') {
    console.log('openwsus: native content transfer is Linux-only; using the JavaScript path');
    return;
  }
  const include = headerDirectory();
  if (include === undefined) {
    console.warn("openwsus: Node's C headers not found; content is served by the JavaScript path");
    return;
  }
  mkdirSync(OUT, { recursive: true });
  for (const module of MODULES) {
    const target = join(OUT, `${module.name}.node`);
    const cc = process.env.CC ?? 'cc';
    const args = ['-O2', '-fPIC', '-shared', '-Wall', '-Wextra', '-Werror', `-I${include}`, '-o', target, module.source];
    const result = spawnSync(cc, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (result.status === 0) console.log(`openwsus: built ${target}`);
    else console.warn(`openwsus: could not build ${module.name} (${result.error?.message ?? `${cc} exited ${result.status}`}); using the JavaScript path`);
  }
}

main();
