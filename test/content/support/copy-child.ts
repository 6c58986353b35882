// Child process for the memory test: copies content and prints its peak memory as JSON. Run
// with --expose-gc: collecting at every progress report takes the garbage collector's lag out
// of the measure, so what is left is what the copy holds on to.
// Usage: copy-child.ts SRC_DATA DST_DATA
import { copyContent } from '../../../src/content/copy.ts';

const [src, dst] = process.argv.slice(2);
if (!src || !dst) throw new Error('usage: copy-child.ts SRC_DATA DST_DATA');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
gc();
const baseline = process.memoryUsage();
let peakArrayBuffers = 0;
let peakRss = 0;
let reports = 0;
const result = await copyContent(src, dst, {
  onProgress: () => {
    reports += 1;
    gc();
    const now = process.memoryUsage();
    peakArrayBuffers = Math.max(peakArrayBuffers, now.arrayBuffers - baseline.arrayBuffers);
    peakRss = Math.max(peakRss, now.rss - baseline.rss);
  },
});
console.log(JSON.stringify({ copied: result.copied, bytes: result.bytes, reports, peakArrayBuffers, peakRss }));
