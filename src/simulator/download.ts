// Content download as Delivery Optimization does it against a WSUS (WSUS-PROTOCOLS §4.9): closed
// `Range: bytes=a-b` GETs of 1 MiB pieces over a few keep-alive connections, each answer a 206
// with the exact Content-Range, then the digests the Extended fragment gave (SHA-1, and SHA-256
// when present) checked over the whole file.
import { createHash } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import type { FileInfo } from './fragments.ts';
import { USER_AGENT } from './wire.ts';

export const PIECE_BYTES = 1 << 20;
/** Pieces in flight per file (DO used up to 7 connections). */
const PARALLEL_PIECES = 4;

export interface DownloadOutcome {
  readonly file: FileInfo;
  readonly url: string;
  readonly ok: boolean;
  readonly bytes: number;
  readonly requests: number;
  /** Why it failed: HTTP status, range answer, digest mismatch. */
  readonly error?: string;
  /** The HRESULT the agent would report with event 161. */
  readonly hresult?: number;
}

/** HRESULT of an HTTP status as WinHTTP/BITS report it (0x8019xxxx = HTTP_E_STATUS_*). */
export function httpHresult(status: number): number {
  return (0x80190000 | status) | 0;
}
/** 0x80246007 WU_E_DM_NOTDOWNLOADED, what the agent reports for content it could not verify. */
export const HRESULT_NOT_DOWNLOADED = 0x80246007 | 0;
const HRESULT_NETWORK = 0x80072efd | 0; // WININET_E_CANNOT_CONNECT

class PieceError extends Error {
  readonly hresult: number;
  constructor(message: string, hresult: number) {
    super(message);
    this.hresult = hresult;
  }
}

async function piece(url: string, from: number, to: number, size: number, dispatcher: Dispatcher | undefined): Promise<Buffer> {
  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, {
      method: 'GET',
      headers: { range: `bytes=${from}-${to}`, 'user-agent': USER_AGENT },
      ...(dispatcher === undefined ? {} : { dispatcher }),
    });
  } catch (error) {
    throw new PieceError(`GET ${url}: ${(error as Error).message}`, HRESULT_NETWORK);
  }
  const body = Buffer.from(await response.body.arrayBuffer());
  if (response.statusCode !== 206) throw new PieceError(`GET ${url} bytes=${from}-${to}: HTTP ${response.statusCode} instead of 206`, httpHresult(response.statusCode));
  const range = String(response.headers['content-range'] ?? '');
  if (range !== `bytes ${from}-${to}/${size}`) throw new PieceError(`GET ${url}: Content-Range "${range}", expected "bytes ${from}-${to}/${size}"`, HRESULT_NOT_DOWNLOADED);
  if (body.length !== to - from + 1) throw new PieceError(`GET ${url}: ${body.length} bytes for a range of ${to - from + 1}`, HRESULT_NOT_DOWNLOADED);
  return body;
}

/** Downloads one file in pieces and checks it; never throws. */
export async function downloadFile(file: FileInfo, url: string, dispatcher?: Dispatcher): Promise<DownloadOutcome> {
  const sha1 = createHash('sha1');
  const sha256 = file.sha256 === undefined ? undefined : createHash('sha256');
  let bytes = 0;
  let requests = 0;
  try {
    if (file.size === 0) {
      // A range of an empty file is unsatisfiable; the agent fetches it whole.
      const r = await request(url, { method: 'GET', headers: { 'user-agent': USER_AGENT }, ...(dispatcher === undefined ? {} : { dispatcher }) });
      requests++;
      const body = Buffer.from(await r.body.arrayBuffer());
      if (r.statusCode !== 200) throw new PieceError(`GET ${url}: HTTP ${r.statusCode}`, httpHresult(r.statusCode));
      sha1.update(body);
      sha256?.update(body);
      bytes = body.length;
    }
    for (let offset = 0; offset < file.size; offset += PIECE_BYTES * PARALLEL_PIECES) {
      const ranges: [number, number][] = [];
      for (let k = 0; k < PARALLEL_PIECES && offset + k * PIECE_BYTES < file.size; k++) {
        const from = offset + k * PIECE_BYTES;
        ranges.push([from, Math.min(file.size, from + PIECE_BYTES) - 1]);
      }
      requests += ranges.length;
      const pieces = await Promise.all(ranges.map(([from, to]) => piece(url, from, to, file.size, dispatcher)));
      for (const p of pieces) {
        sha1.update(p);
        sha256?.update(p);
        bytes += p.length;
      }
    }
  } catch (error) {
    const e = error as PieceError;
    return { file, url, ok: false, bytes, requests, error: e.message, hresult: e.hresult ?? HRESULT_NOT_DOWNLOADED };
  }
  const gotSha1 = sha1.digest('base64');
  if (gotSha1 !== file.sha1) return { file, url, ok: false, bytes, requests, error: `SHA-1 ${gotSha1} where the update says ${file.sha1}`, hresult: HRESULT_NOT_DOWNLOADED };
  const gotSha256 = sha256?.digest('base64');
  if (gotSha256 !== undefined && gotSha256 !== file.sha256) {
    return { file, url, ok: false, bytes, requests, error: `SHA-256 ${gotSha256} where the update says ${file.sha256}`, hresult: HRESULT_NOT_DOWNLOADED };
  }
  return { file, url, ok: true, bytes, requests };
}
