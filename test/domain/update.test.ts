import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalGuid, contentPath } from '../../src/domain/update.ts';

test('canonicalGuid lower-cases, strips braces and refuses non-GUIDs', () => {
  assert.equal(canonicalGuid('{A0A08746-4DBE-4A37-9ADF-9E7652C0B421}'), 'a0a08746-4dbe-4a37-9adf-9e7652c0b421');
  assert.equal(canonicalGuid('not-a-guid'), undefined);
});

test('contentPath puts a file in the folder of its last SHA-1 byte, as WSUS does', () => {
  // SHA-1 87f5bd04...28 95 dd cd from the real GetUpdateData answer (exchange 000014).
  assert.equal(
    contentPath({ sha1: 'h/W9BGlYUAaqXTp30cZi/SiV3c0=', fileName: 'Setup.EXE' }),
    'CD/87F5BD0469585006AA5D3A77D1C662FD2895DDCD.exe',
  );
});
