import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { CliError, printJson } from '../context.ts';

async function readInput(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/** A blob file is either the cabinet itself or the base64 text of `XmlUpdateBlobCompressed`. */
function blobBytes(data: Buffer): Buffer | string {
  if (data.subarray(0, 4).toString('latin1') === 'MSCF') return data;
  const text = data.toString('latin1').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new CliError('not a compressed update blob: expected a cabinet (MSCF) or the base64 text of XmlUpdateBlobCompressed');
  }
  return text;
}

export function registerInspect(program: Command): void {
  const inspect = program.command('inspect').description('look inside update documents and blobs (for debugging catalogs)');
  inspect
    .command('blob')
    .description('print the update document held in a compressed blob (base64 text or raw CAB)')
    .argument('<file>')
    .action(async (file: string) => {
      const { decodeUpdateBlob } = await import('../../metadata/cab/index.ts');
      process.stdout.write(decodeUpdateBlob(blobBytes(await readInput(file))) + '\n');
    });
  inspect
    .command('fragments')
    .description('print, as JSON, the Core, Extended and Localized fragments a client receives for a document')
    .argument('<doc>', 'an upd:Update document')
    .option('--lang <language>', 'language of the Localized fragment', 'en')
    .action(async (doc: string, options: { lang: string }) => {
      const { ingestUpdate } = await import('../../metadata/update-parser.ts');
      const { fragments } = ingestUpdate((await readInput(doc)).toString('utf8'));
      const lang = options.lang.toLowerCase();
      const localized = fragments.localized[lang];
      if (localized === undefined) {
        const known = Object.keys(fragments.localized).join(', ') || 'none';
        throw new CliError(`the document has no "${lang}" localized properties (it has: ${known}); pick one with --lang`);
      }
      printJson({ core: fragments.core, extended: fragments.extended, localized });
    });
  inspect
    .command('update')
    .description('print the parsed update record as JSON')
    .argument('<doc>', 'an upd:Update document')
    .option('--with-xml', 'include the document text itself')
    .action(async (doc: string, options: { withXml?: boolean }) => {
      const { ingestUpdate } = await import('../../metadata/update-parser.ts');
      const { record } = ingestUpdate((await readInput(doc)).toString('utf8'));
      printJson(options.withXml ? record : { ...record, xml: undefined });
    });
}
