import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  XmlError,
  collectXmlInput,
  collectXmlInputAsync,
  parseXmlChunks,
  parseXmlChunksAsync,
  textContent,
} from '../../src/xml/index.ts';

const MiB = 1024 * 1024;

/** A 1 GiB document produced lazily, 1 MiB at a time; counts the chunks it handed out. */
function gigabyteElement(): { chunks: Generator<string>; pulled: () => number } {
  const piece = 'x'.repeat(MiB);
  let pulled = 0;
  function* generate(): Generator<string> {
    pulled++;
    yield '<a>';
    for (let i = 0; i < 1024; i++) {
      pulled++;
      yield piece;
    }
    pulled++;
    yield '</a>';
  }
  return { chunks: generate(), pulled: () => pulled };
}

test('a 1 GiB element is refused once the input passes the size limit, without reading the rest', () => {
  const { chunks, pulled } = gigabyteElement();
  assert.throws(
    () => parseXmlChunks(chunks),
    (error: unknown) =>
      error instanceof XmlError &&
      error.code === 'limit' &&
      /input exceeds the limit of 134217728 characters/.test(error.message),
  );
  // 128 MiB default limit: '<a>' and 127 chunks fit, the 128th tips it over; nothing more is read.
  assert.equal(pulled(), 129);
});

test('the size limit is configurable, and streams of bytes are decoded and counted', async () => {
  const { chunks, pulled } = gigabyteElement();
  await assert.rejects(
    collectXmlInputAsync(chunks, { maxInputChars: 4 * MiB }),
    /input exceeds the limit of 4194304 characters/,
  );
  assert.equal(pulled(), 5);

  async function* bytes(): AsyncGenerator<Uint8Array> {
    const utf8 = new TextEncoder().encode('\uFEFF<a>h\u00e9llo \u4e16\u754c</a>');
    // Split inside multi-byte sequences on purpose.
    for (let i = 0; i < utf8.length; i += 3) yield utf8.subarray(i, i + 3);
  }
  const doc = await parseXmlChunksAsync(bytes());
  assert.equal(textContent(doc.root), 'h\u00e9llo \u4e16\u754c');
  assert.equal(collectXmlInput(['<a>', 'b', '</a>']), '<a>b</a>');
  assert.throws(() => collectXmlInput([new Uint8Array([0x3c, 0xff, 0x3e])]), TypeError, 'invalid UTF-8 is refused');
});
