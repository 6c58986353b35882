// Shared by the catalog tests: the real parser (when it exists) and record comparison.
import { existsSync } from 'node:fs';
import type { UpdateRecord } from '../../src/domain/update.ts';

const PARSER = new URL('../../src/metadata/update-parser.ts', import.meta.url);
type Parse = (xml: string) => UpdateRecord;

/** `parseUpdate` of src/metadata/update-parser.ts, or undefined while that module is not written. */
export const parseUpdate: Parse | undefined = existsSync(PARSER)
  ? ((await import(PARSER.href)) as { parseUpdate: Parse }).parseUpdate
  : undefined;

export const needsParser = { skip: parseUpdate === undefined ? 'src/metadata/update-parser.ts is not there yet' : false };

/** Small payloads keep the tests fast; digests are still real. */
export const SMALL_FILES = { min: 256, max: 4096 } as const;
