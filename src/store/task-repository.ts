// Tasks for the administrator (domain/task.ts). Raising a task that is already open for the same
// kind and subject counts one more occurrence instead of adding a row, so a problem noticed on
// every synchronization attempt stays one line in the console.
import type { Selectable } from 'kysely';
import type { NewTask, Task } from '../domain/task.ts';
import { atomically, nowIso, type StoreContext } from './sql-util.ts';
import { upstreamDb, type TaskTable } from './upstream-schema.ts';

function toTask(r: Selectable<TaskTable>): Task {
  return {
    id: Number(r.task_id),
    kind: r.kind,
    ...(r.subject !== '' && { subject: r.subject }),
    message: r.message,
    createdAt: r.created_at,
    lastSeenAt: r.last_seen_at,
    occurrences: Number(r.occurrences),
    ...(r.resolved_at !== null && { resolvedAt: r.resolved_at }),
  };
}

export class TaskRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  /** Opens a task, or notes one more occurrence of the open one of that kind and subject. */
  async raise(task: NewTask, at = nowIso()): Promise<Task> {
    const subject = task.subject ?? '';
    return atomically(this.#ctx.db, async (tx) => {
      const db = upstreamDb({ db: tx, dialect: this.#ctx.dialect });
      const open = () =>
        db
          .selectFrom('task')
          .selectAll()
          .where('kind', '=', task.kind)
          .where('subject', '=', subject)
          .where('resolved_at', 'is', null)
          .executeTakeFirst();
      let row = await open();
      if (row === undefined) {
        // Another front end may open the same task at the same moment: the partial unique index
        // keeps one, and the loser counts an occurrence on it below.
        const inserted = await db
          .insertInto('task')
          .values({ kind: task.kind, subject, message: task.message, created_at: at, last_seen_at: at, occurrences: 1, resolved_at: null })
          .onConflict((oc) => oc.columns(['kind', 'subject']).where('resolved_at', 'is', null).doNothing())
          .executeTakeFirst();
        row = await open();
        if (row !== undefined && Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0) return toTask(row);
      }
      if (row === undefined) throw new Error(`task ${task.kind} could not be raised`);
      await db
        .updateTable('task')
        .set({ message: task.message, last_seen_at: at, occurrences: Number(row.occurrences) + 1 })
        .where('task_id', '=', row.task_id)
        .execute();
      return toTask({ ...row, message: task.message, last_seen_at: at, occurrences: Number(row.occurrences) + 1 });
    });
  }

  /** Newest first; open ones only unless `all`. */
  async list(options: { all?: boolean; kind?: string; limit?: number } = {}): Promise<Task[]> {
    let query = upstreamDb(this.#ctx).selectFrom('task').selectAll().orderBy('created_at', 'desc').orderBy('task_id', 'desc').limit(options.limit ?? 500);
    if (!options.all) query = query.where('resolved_at', 'is', null);
    if (options.kind !== undefined) query = query.where('kind', '=', options.kind);
    return (await query.execute()).map(toTask);
  }

  async resolve(id: number, at = nowIso()): Promise<boolean> {
    const result = await upstreamDb(this.#ctx)
      .updateTable('task')
      .set({ resolved_at: at })
      .where('task_id', '=', id)
      .where('resolved_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}
