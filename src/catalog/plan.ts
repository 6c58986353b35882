// Decides which units a catalog of exactly N documents holds, before any document is written:
// unit shapes are cheap to compute (planUnit), so the planner counts documents exactly.
//
//  A. Every line, in priority order, gets its newest MIN_UNITS updates (so even a small catalog has
//     bundles, supersedence chains, drivers, several products).
//  B. A history window then grows backwards one day at a time, taking every unit of every kept line
//     dated in it, while the total fits (at most MAX_HISTORY_DAYS).
//  C. The documents still missing are filler drivers (one document each) spread over the window.
import { CATEGORIES, CATALOG_END, DAY, DETECTOIDS, LINES, MAX_HISTORY_DAYS, type LineDef } from './taxonomy.ts';
import { firstSlotAtOrAfter, lastSlotAtOrBefore, planUnit } from './units.ts';

const MIN_UNITS = 3;

export interface LinePlan {
  readonly line: LineDef;
  /** Oldest slot in the catalog; `start > end` means the line holds nothing. */
  readonly start: number;
  /** Newest slot in the base catalog. */
  readonly end: number;
  /** Oldest slot the line ever has (its product's release). */
  readonly minSlot: number;
  /** Newest slot the line ever has (its product's end of support), or Infinity. */
  readonly maxSlot: number;
}

export interface CatalogPlan {
  readonly seed: string;
  readonly total: number;
  readonly staticDocuments: number;
  readonly lines: readonly LinePlan[];
  readonly bulkDrivers: number;
  /** Start of the history window (ms); the base catalog ends at CATALOG_END. */
  readonly windowStart: number;
}

export const STATIC_DOCUMENTS = CATEGORIES.length + DETECTOIDS.length;

function docsBetween(seed: string, line: LineDef, from: number, to: number): number {
  let n = 0;
  for (let s = from; s <= to; s++) n += planUnit(seed, line, s).docs;
  return n;
}

export function planCatalog(seed: string, total: number): CatalogPlan {
  if (!Number.isSafeInteger(total) || total < STATIC_DOCUMENTS) {
    throw new RangeError(`a sample catalog holds at least ${STATIC_DOCUMENTS} documents (its categories and detectoids); asked for ${total}`);
  }
  const budget = total - STATIC_DOCUMENTS;
  let used = 0;
  const lines: { line: LineDef; start: number; end: number; minSlot: number; maxSlot: number; kept: boolean }[] = [];

  for (const line of LINES) {
    const minSlot = firstSlotAtOrAfter(seed, line, line.since);
    const maxSlot = line.until === undefined ? Infinity : lastSlotAtOrBefore(seed, line, line.until);
    const end = Math.min(lastSlotAtOrBefore(seed, line, CATALOG_END), maxSlot);
    const start = Math.max(minSlot, end - MIN_UNITS + 1);
    const docs = end >= start ? docsBetween(seed, line, start, end) : 0;
    const kept = end >= start && used + docs <= budget;
    if (kept) used += docs;
    lines.push({ line, start: kept ? start : end + 1, end, minSlot, maxSlot, kept });
  }

  let windowStart = CATALOG_END;
  for (let day = 1; day <= MAX_HISTORY_DAYS; day++) {
    const t = CATALOG_END - day * DAY;
    const moves: { index: number; start: number }[] = [];
    let add = 0;
    lines.forEach((l, index) => {
      if (!l.kept) return;
      const from = Math.max(l.minSlot, firstSlotAtOrAfter(seed, l.line, t));
      if (from < l.start) {
        add += docsBetween(seed, l.line, from, l.start - 1);
        moves.push({ index, start: from });
      }
    });
    if (used + add > budget) break;
    used += add;
    for (const m of moves) (lines[m.index] as (typeof lines)[number]).start = m.start;
    windowStart = t;
  }

  return {
    seed,
    total,
    staticDocuments: STATIC_DOCUMENTS,
    lines: lines.map(({ kept: _kept, ...l }) => l),
    bulkDrivers: budget - used,
    windowStart,
  };
}

/** Date of filler driver `j` of `count`, evenly over the window. */
export function bulkDriverDate(plan: CatalogPlan, j: number): number {
  const span = CATALOG_END - plan.windowStart;
  return plan.windowStart + Math.floor(((j + 0.5) * span) / Math.max(1, plan.bulkDrivers));
}

