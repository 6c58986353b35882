// Answers that many callers ask for alike, computed once: downstream servers that start a full
// synchronization together send the same GetRevisionIdList (same filter, no anchor) while the
// catalog stands still. Building that list takes seconds and hundreds of MB; built once per
// change position, fifty downstream servers cost what one does.
export class SharedAnswers<T> {
  readonly #size: number;
  readonly #ttlMs: number;
  /** Newest last; a pending answer is shared as soon as it is asked for. */
  readonly #entries = new Map<string, { readonly answer: Promise<T>; readonly at: number }>();

  constructor(options: { size: number; ttlMs: number }) {
    this.#size = options.size;
    this.#ttlMs = options.ttlMs;
  }

  /** The answer under `key`: the one built (or being built) within the TTL, else `build()`'s. */
  get(key: string, build: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const entry = this.#entries.get(key);
    if (entry !== undefined && now - entry.at < this.#ttlMs) return entry.answer;
    this.#entries.delete(key);
    const answer = build();
    this.#entries.set(key, { answer, at: now });
    // A failure is not remembered: the next caller builds again.
    answer.catch(() => {
      if (this.#entries.get(key)?.answer === answer) this.#entries.delete(key);
    });
    while (this.#entries.size > this.#size) this.#entries.delete(this.#entries.keys().next().value!);
    return answer;
  }
}
