// Reading the WSUS layout back from disk: which names in a content directory are content.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { contentFolder, type UpdateFile } from '../domain/update.ts';
import { isCode } from './durable.ts';
import { PARTIAL_DIR } from './publish.ts';

export interface LaidOutFile {
  /** Absolute path as found on disk. */
  readonly path: string;
  /** Path relative to the content root as found on disk (its case may differ from ours). */
  readonly relPath: string;
  /** A record synthesised from the name: SHA-1 from the name, size from the disk. */
  readonly file: UpdateFile;
  readonly mtime: Date;
}

const FOLDER = /^[0-9A-F]{2}$/i;
// `contentPath` takes the extension after the last dot, so a content name has at most one.
const NAME = /^([0-9A-F]{40})(\.[^.]+)?$/i;

/**
 * Every `XX/SHA1HEX[.ext]` file under `root` whose folder is its SHA-1's last byte, in name
 * order. Everything else (`.partial/`, stray files, misfiled content) goes to `onIgnored`.
 */
export async function* walkContent(
  root: string,
  onIgnored?: (relPath: string) => void,
): AsyncGenerator<LaidOutFile> {
  for (const folder of await sortedNames(root)) {
    if (!FOLDER.test(folder)) {
      if (folder !== PARTIAL_DIR) onIgnored?.(folder);
      continue;
    }
    for (const name of await sortedNames(join(root, folder))) {
      const relPath = `${folder}/${name}`;
      const match = NAME.exec(name);
      const hex = match?.[1]?.toUpperCase();
      if (!match || !hex || contentFolder(hex) !== folder.toUpperCase()) {
        onIgnored?.(relPath);
        continue;
      }
      const path = join(root, folder, name);
      const stats = await stat(path).catch((error: unknown) => {
        if (isCode(error, 'ENOENT')) return undefined; // gone since the listing
        throw error;
      });
      if (!stats?.isFile()) {
        if (stats) onIgnored?.(relPath);
        continue;
      }
      const file: UpdateFile = {
        sha1: Buffer.from(hex, 'hex').toString('base64'),
        fileName: `${hex}${match[2] ?? ''}`,
        size: stats.size,
      };
      yield { path, relPath, file, mtime: stats.mtime };
    }
  }
}

async function sortedNames(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return [];
    throw error;
  }
}
