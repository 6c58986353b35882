// Sending a byte span of an open file as an HTTP response body. On plain HTTP on Linux, with the
// native module built (native/sendfile.c), the kernel moves the bytes itself with sendfile(2),
// as nginx does. Otherwise (HTTPS, other systems, no compiler at install) they are copied
// through reused read buffers, reading the next chunk while the socket takes the current one.
//
// A ReadStream allocates a fresh buffer for every chunk; at the rates content is served that,
// with the garbage collection it causes, is a large part of the cost (bench/content.ts). Here a
// buffer goes back to a pool as soon as the socket has taken its bytes (the write callback), so
// a steady download keeps touching the same few buffers.
//
// Chunk size trades CPU for memory. Every read is a thread-pool round trip and every write a
// system call, so 1 MiB chunks cost about a quarter less CPU per byte than 256 KiB ones and
// half what 64 KiB ones do (measured on a 1 MiB-range load); but a transfer pins the chunk its
// socket has not taken yet plus the one read ahead, and when the network is the bottleneck
// every socket is full. So a bounded number of transfers at a time get 1 MiB chunks (at most
// 2 × BIG_TRANSFERS MiB pinned) and the others 64 KiB ones, the size Node's file streams use.
import { read } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { constants } from 'node:os';
import { nativeSendfile, plainSocketDescriptor, type NativeSendfile } from './native-sendfile.ts';

export const BIG_CHUNK = 1024 * 1024;
export const SMALL_CHUNK = 64 * 1024;
export const BIG_TRANSFERS = 32;

/**
 * How long a client may take nothing before we hang up: IIS's default connection timeout. A
 * client that stops reading would otherwise hold a socket and an open file forever.
 */
export const STALL_TIMEOUT_MS = 120_000;

let bigTransfers = 0;

/** Transfers now using big chunks (for tests). */
export function bigTransfersInUse(): number {
  return bigTransfers;
}

// Free buffers by size; what comes back beyond the limit is left to the GC.
const pools = new Map<number, { readonly limit: number; readonly free: Buffer[] }>([
  [BIG_CHUNK, { limit: 16, free: [] }],
  [SMALL_CHUNK, { limit: 256, free: [] }],
]);

function takeBuffer(size: number): Buffer {
  return pools.get(size)?.free.pop() ?? Buffer.allocUnsafeSlow(size);
}

function giveBack(buffer: Buffer): void {
  const pool = pools.get(buffer.length);
  if (pool && pool.free.length < pool.limit) pool.free.push(buffer);
}

export class TruncatedContentError extends Error {
  override readonly name = 'TruncatedContentError';
}

/**
 * Writes bytes `start..end` (inclusive) of `handle` to `res` and ends it, waiting for the socket
 * whenever it is full. Returns early, without error, when the client goes away or takes nothing
 * for `stallTimeoutMs`. Throws on a read error or a file shorter than promised; `res` is
 * destroyed then (its headers are gone already, so cutting the connection is the only honest
 * signal). Never closes `handle`, but returns only once no read of it is in flight.
 */
export async function sendSpan(
  handle: FileHandle,
  start: number,
  end: number,
  res: ServerResponse,
  stallTimeoutMs: number = STALL_TIMEOUT_MS,
  zeroCopy = true,
): Promise<void> {
  const native = zeroCopy ? nativeSendfile() : undefined;
  const socketFd = native ? plainSocketDescriptor(res) : undefined;
  if (native && socketFd !== undefined) return sendZeroCopy(native, socketFd, handle, start, end, res, stallTimeoutMs);
  if (end - start < BIG_CHUNK && (end - start < SMALL_CHUNK || bigTransfers < BIG_TRANSFERS)) return sendOneChunk(handle, start, end, res, stallTimeoutMs);
  const big = end - start >= SMALL_CHUNK && bigTransfers < BIG_TRANSFERS;
  if (big) bigTransfers += 1;
  const size = big ? BIG_CHUNK : SMALL_CHUNK;
  // Settles with the error instead of rejecting: a read that fails while we wait for the socket
  // must not surface as an unhandled rejection.
  const readAt = async (position: number): Promise<Chunk> => {
    const buffer = takeBuffer(size);
    try {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(size, end - position + 1), position);
      return { buffer, bytesRead };
    } catch (error) {
      giveBack(buffer);
      return { error };
    }
  };
  let position = start;
  let next: Promise<Chunk> | undefined = readAt(position);
  // One timer per transfer, pushed back on every drain: cheaper than one per wait.
  const stall = setTimeout(() => res.destroy(), stallTimeoutMs);
  try {
    while (next) {
      const chunk = await next;
      next = undefined;
      if ('error' in chunk) throw chunk.error;
      const { buffer, bytesRead } = chunk;
      if (bytesRead === 0 || res.destroyed) {
        giveBack(buffer);
        if (res.destroyed) return;
        throw new TruncatedContentError(`file ended at byte ${position}, expected ${end + 1}`);
      }
      position += bytesRead;
      // Read ahead while the socket takes this chunk, so it never waits on the disk between two.
      if (position <= end) next = readAt(position);
      // The callback runs once the socket has the bytes or has failed; either way the buffer is
      // free. On a destroyed socket it may never run: the buffer is then simply not reused.
      const more = res.write(bytesRead === size ? buffer : buffer.subarray(0, bytesRead), () => giveBack(buffer));
      if (!more && !res.destroyed) {
        await eventOrClose(res, 'drain');
        stall.refresh();
      }
    }
    res.end();
  } catch (error) {
    res.destroy();
    throw error;
  } finally {
    clearTimeout(stall);
    // Let a read still in flight land before the caller closes the file.
    const pending = next ? await next : undefined;
    if (pending && 'buffer' in pending) giveBack(pending.buffer);
    if (big) bigTransfers -= 1;
  }
}

/**
 * A span that fits one buffer (Delivery Optimization's 1 MiB ranges): one positioned read, then
 * one `end` that hands headers and bytes to the socket together, and a wait (bounded as in the
 * loop) until the socket has taken them. None of the read-ahead loop's promises per chunk.
 */
async function sendOneChunk(handle: FileHandle, start: number, end: number, res: ServerResponse, stallTimeoutMs: number): Promise<void> {
  const length = end - start + 1;
  const big = length > SMALL_CHUNK;
  if (big) bigTransfers += 1;
  const buffer = takeBuffer(big ? BIG_CHUNK : SMALL_CHUNK);
  try {
    let bytesRead: number;
    try {
      bytesRead = await readInto(handle.fd, buffer, length, start);
    } catch (error) {
      giveBack(buffer);
      throw error;
    }
    if (res.destroyed) return giveBack(buffer);
    if (bytesRead < length) {
      giveBack(buffer);
      throw new TruncatedContentError(`file ended at byte ${start + bytesRead}, expected ${end + 1}`);
    }
    // As in the loop: the buffer is free once the socket has the bytes (never, if it is destroyed).
    res.end(buffer.subarray(0, length), () => giveBack(buffer));
    if (!res.writableFinished && !res.destroyed) {
      const stall = setTimeout(() => res.destroy(), stallTimeoutMs);
      await eventOrClose(res, 'finish');
      clearTimeout(stall);
    }
  } catch (error) {
    res.destroy();
    throw error;
  } finally {
    if (big) bigTransfers -= 1;
  }
}

// How a transfer ends when the client went away or stalled: quietly, as the copying paths do.
const CLIENT_GONE = new Set([constants.errno.EPIPE, constants.errno.ECONNRESET, constants.errno.ETIMEDOUT, constants.errno.ENOTCONN]);

/**
 * The same transfer with sendfile(2) on a plain TCP socket: no copy through our memory. The
 * headers go out first, through Node, and Node writes nothing more until the file's bytes are
 * all in the socket; only then does `end` let the next response on the connection go.
 */
async function sendZeroCopy(native: NativeSendfile, socketFd: number, handle: FileHandle, start: number, end: number, res: ServerResponse, stallTimeoutMs: number): Promise<void> {
  res.flushHeaders();
  const socket = res.socket!;
  if (socket.writableLength > 0) {
    // Only a client that stopped reading leaves no room for a few hundred bytes of headers.
    const stall = setTimeout(() => res.destroy(), stallTimeoutMs);
    await eventOrClose(socket, 'drain');
    clearTimeout(stall);
  }
  if (res.destroyed || socket.destroyed) return;
  const { errno, sent, truncated } = await new Promise<{ errno: number; sent: number; truncated: boolean }>((resolve) =>
    native.send(socketFd, handle.fd, start, end - start + 1, stallTimeoutMs, (errno, sent, truncated) => resolve({ errno, sent, truncated })),
  );
  if (errno === 0 && !truncated) {
    res.end();
    // The client may have had every byte before we got here: a server that began closing
    // meanwhile found this connection busy and will not look at it again, so it goes now.
    if ((socket as { server?: { listening?: boolean } }).server?.listening === false) socket.end();
    return;
  }
  res.destroy();
  if (truncated) throw new TruncatedContentError(`file ended at byte ${start + sent}, expected ${end + 1}`);
  if (!CLIENT_GONE.has(errno)) throw Object.assign(new Error(`sendfile failed with errno ${errno}`), { errno });
}

/** One pread through the thread pool: the callback API, without the promise API's bookkeeping. */
function readInto(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buffer, 0, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))));
}

type Chunk = { readonly buffer: Buffer; readonly bytesRead: number } | { readonly error: unknown };

/** Resolves at `event` ('drain': room for more; 'finish': all taken) or when the socket goes. */
function eventOrClose(res: ServerResponse | NonNullable<ServerResponse['socket']>, event: 'drain' | 'finish'): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off(event, done);
      res.off('close', done);
      resolve();
    };
    res.on(event, done);
    res.on('close', done);
  });
}
