// A generated catalog written as an export file (what `openwsus import` and the demo load), with
// its payloads optionally written into a WSUS content directory in the same pass.
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { WSUS_LANGUAGES } from '../domain/languages.ts';
import { VERSION } from '../app/version.ts';
import { writeExport, type ExportManifest, type ExportRecord } from '../transfer/format.ts';
import { generateCatalog, type CatalogOptions } from './generator.ts';
import { writePayloads } from './write.ts';

export interface GeneratedExport {
  readonly manifest: ExportManifest;
  readonly documents: number;
  readonly files: number;
  readonly bytes: number;
}

export async function writeGeneratedCatalog(
  options: CatalogOptions,
  path: string,
  extra: { contentDir?: string; onProgress?: (done: number, total: number) => void } = {},
): Promise<GeneratedExport> {
  const catalog = generateCatalog(options);
  const languages = new Set(catalog.settings.languages);
  let files = 0;
  let bytes = 0;
  let done = 0;
  async function* records(): AsyncGenerator<ExportRecord> {
    for (const language of WSUS_LANGUAGES) {
      yield { type: 'language', id: language.id, shortName: language.shortName, longName: language.longName, enabled: languages.has(language.shortName) };
    }
    for (const doc of catalog.documents()) {
      yield { type: 'revision', xml: doc.xml };
      if (extra.contentDir) {
        const written = await writePayloads([doc], extra.contentDir);
        files += written.written;
        bytes += written.bytes;
      }
      done++;
      extra.onProgress?.(done, catalog.size);
    }
  }
  const partial = `${path}.partial`;
  try {
    const manifest = await writeExport(
      createWriteStream(partial),
      {
        created: new Date().toISOString(),
        software: `openwsus ${VERSION} catalog generate (seed ${catalog.settings.seed}, ${catalog.size} revisions)`,
        sections: ['languages', 'revisions'],
      },
      records(),
    );
    await rename(partial, path);
    return { manifest, documents: done, files, bytes };
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}
