// What a migration needs to know beyond the Kysely instance: which backend it writes DDL for.
// Column types that differ between SQLite and PostgreSQL are named here once.
import type { ColumnDataType, ColumnDefinitionBuilder, Kysely } from 'kysely';
import type { DialectName } from '../schema.ts';

export interface MigrationContext {
  readonly dialect: DialectName;
}

/**
 * A schema migration. Migrations are applied in the order of their names (`0001_catalog`,
 * `0002_groups`…), once each, at open; a migration that has run is never edited afterwards.
 */
export interface StoreMigration {
  up(db: Kysely<any>, ctx: MigrationContext): Promise<void>;
}

export function bytesType(ctx: MigrationContext): ColumnDataType {
  return ctx.dialect === 'postgres' ? 'bytea' : 'blob';
}

/**
 * An integer key the database assigns and never hands out again, even after a delete:
 * SQLite's AUTOINCREMENT and PostgreSQL's identity (a sequence) both promise that.
 */
export function serialKey(ctx: MigrationContext): (col: ColumnDefinitionBuilder) => ColumnDefinitionBuilder {
  return ctx.dialect === 'postgres'
    ? (col) => col.generatedByDefaultAsIdentity().primaryKey()
    : (col) => col.autoIncrement().primaryKey();
}
