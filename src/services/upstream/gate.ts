// At most `size` of a kind of costly work at once, the rest waiting their turn in order. Each turn
// starts on a fresh turn of the event loop: on SQLite every query runs synchronously, so a chain
// of them (a full GetRevisionIdList of a large catalog is seconds of queries) never gives the loop
// a chance to read sockets or run timers, and work started back to back in microtasks would hold
// it for their sum. Keep-alive sockets whose timer expired meanwhile would then be destroyed with
// a request unread: the downstream sees ECONNRESET.
import { setImmediate as nextTurn } from 'node:timers/promises';

export class Gate {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`a gate takes at least 1 at once, got ${size}`);
    this.#free = size;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      await nextTurn();
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next === undefined) this.#free++;
      else next();
    }
  }
}
