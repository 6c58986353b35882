// The CLI repeats two constants so that `--help` loads neither the generator nor the database
// drivers; these keep the copies honest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MIN_UPDATES } from '../../src/cli/commands/catalog.ts';
import { SQLITE_FILE_NAME as CLI_SQLITE_FILE_NAME } from '../../src/cli/store.ts';
import { STATIC_DOCUMENTS } from '../../src/catalog/index.ts';
import { SQLITE_FILE_NAME } from '../../src/store/index.ts';

test('the CLI copies of store and generator constants match their sources', () => {
  assert.equal(MIN_UPDATES, STATIC_DOCUMENTS);
  assert.equal(CLI_SQLITE_FILE_NAME, SQLITE_FILE_NAME);
});
