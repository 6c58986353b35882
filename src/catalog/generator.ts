// The deterministic sample catalog: Microsoft Update's shape (categories, detectoids, bundles, leaves,
// drivers, supersedence, revisions, expiries, languages, shared files) at any size, streamed.
import { bulkDriverDate, planCatalog, type CatalogPlan } from './plan.ts';
import { CATEGORIES, DETECTOIDS, type LineDef } from './taxonomy.ts';
import { DEFAULT_LANGUAGES } from './texts.ts';
import {
  FileFactory,
  buildBulkDriver,
  categorySpec,
  detectoidSpec,
  lineSlotDate,
  toDocument,
  unitDocuments,
  type CatalogDocument,
  type Ctx,
  type FileSizeRange,
  type Settings,
} from './units.ts';

export interface CatalogOptions {
  /**
   * N: the exact number of documents (update revisions) the catalog holds, every revision of every
   * update counted, categories and detectoids included; at least STATIC_DOCUMENTS.
   */
  readonly updates: number;
  readonly seed: number | string;
  /** Languages of localized properties; `en` is always included. Default en, de, fr, ja, pt-br, zh-cn. */
  readonly languages?: readonly string[];
  /** Payload sizes, log-uniform in [min, max] bytes. Default 2 KiB to 128 KiB. */
  readonly fileSize?: FileSizeRange;
  /** Makes one file in `every` large (sizes from `size`), for benchmarks. */
  readonly largeFiles?: { readonly every: number; readonly size: FileSizeRange };
}

export interface Catalog extends Iterable<CatalogDocument> {
  readonly settings: Settings;
  readonly plan: CatalogPlan;
  /** Number of documents `documents()` yields: exactly `options.updates`. */
  readonly size: number;
  /** Streams the documents: categories, detectoids, then updates in publication order. Restartable. */
  documents(): Generator<CatalogDocument>;
}

export const DEFAULT_FILE_SIZE: FileSizeRange = { min: 2 * 1024, max: 128 * 1024 };

export function settingsOf(options: Omit<CatalogOptions, 'updates'>): Settings {
  const languages = ['en', ...(options.languages ?? DEFAULT_LANGUAGES).map((l) => l.toLowerCase())].filter((l, i, all) => all.indexOf(l) === i);
  const fileSize = options.fileSize ?? DEFAULT_FILE_SIZE;
  if (!(fileSize.min >= 1 && fileSize.max >= fileSize.min)) throw new RangeError('fileSize needs 1 <= min <= max');
  const settings: Settings = { seed: String(options.seed), languages, fileSize };
  return options.largeFiles === undefined ? settings : { ...settings, largeFiles: options.largeFiles };
}

export function newContext(settings: Settings): Ctx {
  return { settings, files: new FileFactory(settings) };
}

export function generateCatalog(options: CatalogOptions): Catalog {
  const settings = settingsOf(options);
  const plan = planCatalog(settings.seed, options.updates);
  return {
    settings,
    plan,
    size: plan.total,
    documents: () => catalogDocuments(settings, plan),
    [Symbol.iterator]: () => catalogDocuments(settings, plan),
  };
}

interface Cursor {
  readonly line: LineDef;
  readonly start: number;
  readonly end: number;
  s: number;
  date: number;
}

function* catalogDocuments(settings: Settings, plan: CatalogPlan): Generator<CatalogDocument> {
  const ctx = newContext(settings);
  const seed = settings.seed;
  for (const c of CATEGORIES) yield toDocument('category', categorySpec(ctx, c), []);
  for (const d of DETECTOIDS) yield toDocument('detectoid', detectoidSpec(d), []);

  // Merge the lines (and the filler drivers) by date: the stream reads like a publication history,
  // and what the bounded file cache must remember stays close together.
  const cursors: Cursor[] = plan.lines
    .filter((l) => l.start <= l.end)
    .map((l) => ({ line: l.line, start: l.start, end: l.end, s: l.start, date: lineSlotDate(seed, l.line, l.start) }));
  let j = 0;
  let bulkDate = plan.bulkDrivers > 0 ? bulkDriverDate(plan, 0) : Infinity;
  for (;;) {
    let next: Cursor | undefined;
    for (const c of cursors) if (c.s <= c.end && (next === undefined || c.date < next.date)) next = c;
    if (next === undefined && j >= plan.bulkDrivers) return;
    if (next === undefined || bulkDate < next.date) {
      const unit = buildBulkDriver(ctx, j, bulkDate, (first) => bulkDriverDate(plan, first));
      yield toDocument('driver', unit.top, unit.topFiles);
      j++;
      bulkDate = j < plan.bulkDrivers ? bulkDriverDate(plan, j) : Infinity;
      continue;
    }
    yield* unitDocuments(ctx, next.line, next.s, next.start);
    next.s++;
    if (next.s <= next.end) next.date = lineSlotDate(seed, next.line, next.s);
  }
}
