// Things an administrator should look at (the console lists them): a refused downstream server,
// later a failing synchronization or a full disk. Raised by the part that noticed, resolved by a
// person or by the part once the cause is gone.

export interface Task {
  readonly id: number;
  /** What kind of problem, dotted: `upstream.downstream-refused`. */
  readonly kind: string;
  /**
   * What it is about (a downstream server id, a file digest), so the same problem noticed again
   * updates the open task instead of piling up new ones. Absent: one open task per kind.
   */
  readonly subject?: string;
  readonly message: string;
  /** ISO-8601 UTC. */
  readonly createdAt: string;
  /** When it was last noticed again. */
  readonly lastSeenAt: string;
  /** How many times it was noticed while open. */
  readonly occurrences: number;
  readonly resolvedAt?: string;
}

export interface NewTask {
  readonly kind: string;
  readonly subject?: string;
  readonly message: string;
}
