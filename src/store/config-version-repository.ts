// Where in the change sequence the configuration an upstream announces (GetConfigData) last
// changed. The configuration is not stored as one thing (settings, languages), so its fingerprint
// is: a change of fingerprint takes a position of kind `config`, logged with a hash of the new
// fingerprint, and a downstream whose config anchor is at or past that position has it already.
import { createHash } from 'node:crypto';
import { ChangeSequence } from './change-sequence.ts';
import type { StoreContext } from './sql-util.ts';

export const CONFIG_CHANGE = 'config';

/** 48 bits of SHA-1: exact as a JS number and as a bigint column. */
function fingerprintHash(fingerprint: string): number {
  return createHash('sha1').update(fingerprint).digest().readUIntBE(0, 6);
}

export class ConfigVersionRepository {
  readonly #ctx: StoreContext;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
  }

  /** The position of the last change to `fingerprint`, taking a new one when it differs from the last. */
  async positionOf(fingerprint: string): Promise<number> {
    const hash = fingerprintHash(fingerprint);
    const last = await this.#ctx.db
      .selectFrom('change_log')
      .select(['seq', 'entity_id'])
      .where('kind', '=', CONFIG_CHANGE)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (last !== undefined && Number(last.entity_id) === hash) return Number(last.seq);
    // Two front ends noticing the same change both take a position: a config anchor between
    // them only makes a downstream read the language list once more.
    const [seq] = await new ChangeSequence(this.#ctx).advance([{ kind: CONFIG_CHANGE, entityId: hash }]);
    return seq!;
  }
}
