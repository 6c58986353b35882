// The native zero-copy transfer (native/sendfile.c, built by `npm ci` into build/native/), when
// it was built and may be used. `OPENWSUS_CONTENT_SENDFILE=off` turns it off (to compare, or to
// rule it out); anything missing means the JavaScript copy in send.ts, never an error.
import { createRequire } from 'node:module';
import type { ServerResponse } from 'node:http';

export interface NativeSendfile {
  /**
   * Sends `length` bytes of `fileFd` from `offset` to the socket `socketFd`; `callback` gets an
   * errno (0: all sent), the bytes sent, and whether the file ended first.
   */
  send(socketFd: number, fileFd: number, offset: number, length: number, stallMs: number, callback: (errno: number, sent: number, truncated: boolean) => void): void;
}

let loaded: NativeSendfile | null | undefined;

export function nativeSendfile(): NativeSendfile | undefined {
  if (loaded === undefined) loaded = load();
  return loaded ?? undefined;
}

function load(): NativeSendfile | null {
  if (process.platform !== 'linux' || /^(0|off|false|no)$/i.test(process.env.OPENWSUS_CONTENT_SENDFILE ?? '')) return null;
  try {
    return createRequire(import.meta.url)('../../../build/native/sendfile.node') as NativeSendfile;
  } catch {
    return null;
  }
}

/** The descriptor of a plain TCP connection under `res`; undefined for TLS or anything else. */
export function plainSocketDescriptor(res: ServerResponse): number | undefined {
  const socket = res.socket as (ServerResponse['socket'] & { encrypted?: boolean; _handle?: { fd?: number } }) | null;
  if (!socket || socket.encrypted) return undefined;
  const fd = socket._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
