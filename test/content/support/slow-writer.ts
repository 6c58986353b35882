// Child process for the kill -9 test: publishes a file slowly, so the parent can kill it while
// the bytes are half written. Usage: slow-writer.ts CONTENT_DIR SOURCE_FILE RECORD_JSON MODE
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContentStore } from '../../../src/content/store.ts';
import type { UpdateFile } from '../../../src/domain/update.ts';

const [contentDir, sourcePath, recordJson, mode] = process.argv.slice(2);
if (!contentDir || !sourcePath || !recordJson || !mode) throw new Error('usage: slow-writer.ts CONTENT_DIR SOURCE RECORD MODE');
const file = JSON.parse(recordJson) as UpdateFile;

async function* slowly(): AsyncGenerator<Uint8Array> {
  const handle = await open(sourcePath!, 'r');
  try {
    for (let position = 0; ; ) {
      const buffer = Buffer.alloc(256 * 1024);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      yield buffer.subarray(0, bytesRead);
      await sleep(10);
    }
  } finally {
    await handle.close();
  }
}

await new ContentStore(contentDir).publishFromStream(file, slowly(), { resumable: mode === 'resumable' });
console.log('finished');
