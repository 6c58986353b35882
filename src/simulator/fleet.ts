// A fleet of simulated computers scanning one server with bounded concurrency over a shared
// connection pool and a shared book of parsed Core fragments.
import { Agent } from 'undici';
import { CoreBook, SimulatedClient, type ClientScanResult, type SimulatedClientOptions } from './client.ts';

export interface FleetOptions extends Omit<SimulatedClientOptions, 'index' | 'book' | 'dispatcher'> {
  readonly count: number;
  /** Index of the first computer (default 0): fleets with other first indexes are other computers. */
  readonly firstIndex?: number;
  /** Computers scanning at the same time (default 16). */
  readonly concurrency?: number;
  /** Scans per computer, one after the other (default 1); the second and later are incremental. */
  readonly scans?: number;
  /** Called as each scan ends (progress, streaming output). */
  readonly onResult?: (result: ClientScanResult) => void;
}

export class Fleet {
  readonly clients: readonly SimulatedClient[];
  readonly concurrency: number;
  readonly #agent: Agent;

  constructor(options: Omit<FleetOptions, 'scans' | 'onResult'>) {
    if (!Number.isInteger(options.count) || options.count < 1) throw new RangeError(`count must be a whole number >= 1, got ${options.count}`);
    this.concurrency = options.concurrency ?? 16;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new RangeError(`concurrency must be a whole number >= 1, got ${this.concurrency}`);
    // One connection per scanning computer, plus a few pieces in flight for downloads.
    this.#agent = new Agent({ connections: this.concurrency * 4, keepAliveTimeout: 30_000 });
    const book = new CoreBook();
    const first = options.firstIndex ?? 0;
    const { count: _count, concurrency: _concurrency, firstIndex: _first, ...clientOptions } = options;
    this.clients = Array.from({ length: options.count }, (_, i) => new SimulatedClient({ ...clientOptions, index: first + i, book, dispatcher: this.#agent }));
  }

  /** Every computer scans once; results in computer order. */
  async scanAll(
    onResult?: (result: ClientScanResult) => void,
    clients: readonly SimulatedClient[] = this.clients,
    { keep = true }: { keep?: boolean } = {},
  ): Promise<ClientScanResult[]> {
    // `keep: false` hands each result to onResult only: 10,000 results with their offered
    // updates and event ids are gigabytes a benchmark does not need.
    const results: ClientScanResult[] = keep ? new Array(clients.length) : [];
    let next = 0;
    const worker = async () => {
      while (next < clients.length) {
        const i = next++;
        const r = await clients[i]!.scan();
        if (keep) results[i] = r;
        onResult?.(r);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, clients.length) }, worker));
    return results;
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/**
 * `count` computers scan `scans` times each against `serverUrl`. Results are ordered by scan,
 * then computer. A computer that fails ends with `ok: false` and its `error`; the others go on.
 */
export async function simulateClients(options: FleetOptions): Promise<ClientScanResult[]> {
  const { scans = 1, onResult, ...rest } = options;
  const fleet = new Fleet(rest);
  try {
    const out: ClientScanResult[] = [];
    for (let s = 0; s < scans; s++) out.push(...(await fleet.scanAll(onResult)));
    return out;
  } finally {
    await fleet.close();
  }
}
