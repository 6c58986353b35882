// Assembling an input from chunks (an HTTP body, a decompressed stream) under the size limit, so
// an oversize body is refused after reading just past the limit instead of after buffering it
// whole. A string cannot exceed V8's maximum length (~2^29 characters) anyway, so inputs larger
// than that can only be refused here.

import { TextDecoder } from 'node:util';
import { XmlError } from './errors.ts';
import { resolveLimits, type XmlLimits } from './limits.ts';
import { parseXml, type XmlParseOptions } from './reader.ts';
import type { XmlDocument } from './types.ts';

export type XmlChunk = string | Uint8Array;

class ChunkCollector {
  readonly #max: number;
  readonly #parts: string[] = [];
  #length = 0;
  #decoder: TextDecoder | undefined;

  constructor(max: number) {
    this.#max = max;
  }

  add(chunk: XmlChunk): void {
    let text: string;
    if (typeof chunk === 'string') {
      text = chunk;
    } else {
      // UTF-8 is the encoding of every WSUS message; a BOM is dropped by the decoder.
      this.#decoder ??= new TextDecoder('utf-8', { fatal: true });
      text = this.#decoder.decode(chunk, { stream: true });
    }
    this.#push(text);
  }

  finish(): string {
    if (this.#decoder !== undefined) this.#push(this.#decoder.decode());
    return this.#parts.join('');
  }

  #push(text: string): void {
    if (text === '') return;
    this.#length += text.length;
    if (this.#length > this.#max) {
      throw new XmlError('limit', `input exceeds the limit of ${this.#max} characters`, undefined, this.#max);
    }
    this.#parts.push(text);
  }
}

/** Joins chunks into one string, refusing as soon as the total passes `limits.maxInputChars`. */
export function collectXmlInput(chunks: Iterable<XmlChunk>, limits?: Partial<XmlLimits>): string {
  const collector = new ChunkCollector(resolveLimits(limits).maxInputChars);
  for (const chunk of chunks) collector.add(chunk);
  return collector.finish();
}

export async function collectXmlInputAsync(
  chunks: AsyncIterable<XmlChunk> | Iterable<XmlChunk>,
  limits?: Partial<XmlLimits>,
): Promise<string> {
  const collector = new ChunkCollector(resolveLimits(limits).maxInputChars);
  for await (const chunk of chunks) collector.add(chunk);
  return collector.finish();
}

export function parseXmlChunks(chunks: Iterable<XmlChunk>, options?: XmlParseOptions): XmlDocument {
  return parseXml(collectXmlInput(chunks, options?.limits), options);
}

export async function parseXmlChunksAsync(
  chunks: AsyncIterable<XmlChunk> | Iterable<XmlChunk>,
  options?: XmlParseOptions,
): Promise<XmlDocument> {
  return parseXml(await collectXmlInputAsync(chunks, options?.limits), options);
}
