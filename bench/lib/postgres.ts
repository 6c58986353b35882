// Throwaway PostgreSQL databases on a running server, one per measurement.
import pg from 'pg';

/** Whether the server at `url` answers; the error message if not. */
export async function postgresProblem(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

export interface TemporaryDatabase {
  /** The server URL with the database name replaced. */
  readonly url: string;
  drop(): Promise<void>;
}

/** Creates database `name` (dropping a leftover of that name first) on the server at `serverUrl`. */
export async function createTemporaryDatabase(serverUrl: string, name: string): Promise<TemporaryDatabase> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  const admin = async (statement: string): Promise<void> => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`drop database if exists ${name} with (force)`);
  await admin(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`drop database if exists ${name} with (force)`) };
}
