// "The next day's" changes to a base catalog, as Microsoft Update makes them: new updates in the
// existing lines (each superseding its predecessors), new revisions of existing updates, expiries, and
// a new product category with a first update in it. Day d holds only what is new on day d; days
// 1..d-1 are replayed as cheap plans (no documents) to know which revisions already exist.
import { CLASSIFICATIONS } from '../domain/wellknown.ts';
import type { UpdateSpec } from '../metadata/update-writer.ts';
import { generateCatalog, newContext, type CatalogOptions } from './generator.ts';
import type { CatalogPlan, LinePlan } from './plan.ts';
import { Rng, guidOf, nameGuid } from './random.ts';
import { CATALOG_END, DAY, DETECTOID, FUTURE_PRODUCTS, type CategoryDef } from './taxonomy.ts';
import {
  buildUnit,
  categorySpec,
  iso,
  lastSlotAtOrBefore,
  latestBaseRevision,
  planUnit,
  revise,
  toDocument,
  type CatalogDocument,
  type Ctx,
} from './units.ts';

export interface ChangesOptions {
  /** The catalog the changes apply to (same options as `generateCatalog`). */
  readonly base: CatalogOptions;
  /** 1 = the first day after the base catalog. */
  readonly day: number;
  /** New revisions of existing updates per day (default 2). */
  readonly revisions?: number;
  /** Expiries of superseded updates per day (default 1). */
  readonly expirations?: number;
}

export interface CatalogChanges extends Iterable<CatalogDocument> {
  readonly day: number;
  /** The day's end (ms since the epoch): every new document is dated on or before it. */
  readonly until: number;
  documents(): Generator<CatalogDocument>;
}

interface Pick {
  readonly lp: LinePlan;
  readonly s: number;
}

interface DayPlan {
  readonly revised: readonly Pick[];
  readonly expired: readonly Pick[];
}

function unitKey(p: Pick): string {
  return `${p.lp.line.id}#${p.s}`;
}

/** Picks distinct base units from lines that hold some, weighted by how many they hold. */
function pickUnits(rng: Rng, lines: readonly LinePlan[], count: number, accept: (p: Pick) => boolean): Pick[] {
  const weighted = lines.filter((l) => l.start <= l.end).map((l) => [l, l.end - l.start + 1] as const);
  const picks: Pick[] = [];
  const taken = new Set<string>();
  for (let attempt = 0; picks.length < count && attempt < count * 50 && weighted.length > 0; attempt++) {
    const lp = rng.weighted(weighted);
    const p = { lp, s: rng.int(lp.start, lp.end) };
    if (taken.has(unitKey(p)) || !accept(p)) continue;
    taken.add(unitKey(p));
    picks.push(p);
  }
  return picks;
}

interface History {
  /** Extra revisions (new revisions and expiries) made before the day in question. */
  readonly extra: Map<string, number>;
  readonly expired: Set<string>;
}

function planDay(plan: CatalogPlan, o: ChangesOptions, day: number, h: History): DayPlan {
  const seed = plan.seed;
  const isExpired = (p: Pick) => h.expired.has(unitKey(p)) || planUnit(seed, p.lp.line, p.s).expired;
  const rng = Rng.of(seed, 'changes', day);
  const revised = pickUnits(rng, plan.lines, o.revisions ?? 2, (p) => !isExpired(p));
  const taken = new Set(revised.map(unitKey));
  // Only superseded updates expire: never the newest of its line.
  const expired = pickUnits(rng, plan.lines, o.expirations ?? 1, (p) => p.s < p.lp.end && !isExpired(p) && !taken.has(unitKey(p)));
  return { revised, expired };
}

function record(h: History, d: DayPlan): void {
  for (const p of [...d.revised, ...d.expired]) h.extra.set(unitKey(p), (h.extra.get(unitKey(p)) ?? 0) + 1);
  for (const p of d.expired) h.expired.add(unitKey(p));
}

function futureProduct(day: number): CategoryDef {
  const all = FUTURE_PRODUCTS.length;
  const base = FUTURE_PRODUCTS[(day - 1) % all] as (typeof FUTURE_PRODUCTS)[number];
  const wave = Math.floor((day - 1) / all);
  const title = wave === 0 ? base.title : `${base.title} (wave ${wave + 1})`;
  return {
    id: nameGuid(`category:${title}`),
    revision: 100,
    title,
    type: 'Product',
    parent: base.parent,
    prohibitsSubcategories: true,
    prohibitsUpdates: false,
    created: iso(CATALOG_END + (day - 1) * DAY + 9 * 3_600_000),
  };
}

function firstUpdateOf(ctx: Ctx, product: CategoryDef, day: number, date: number): { spec: UpdateSpec; files: CatalogDocument['files'] } {
  const seed = ctx.settings.seed;
  const kb = 5_080_000 + day;
  const files = [ctx.files.file(`new-product:${day}`, `${product.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-kb${kb}-x64.exe`, date)];
  const spec: UpdateSpec = {
    key: { updateId: guidOf(seed, 'new-product-update', day), revisionNumber: 200 },
    properties: {
      updateType: 'Software',
      defaultPropertiesLanguage: 'en',
      explicitlyDeployable: true,
      maxDownloadSize: files.reduce((n, f) => n + f.size, 0),
      minDownloadSize: 0,
      publicationState: 'Published',
      creationDate: iso(date),
      publisherId: '395392a0-19c0-48b7-a927-f7c15066d905',
      installationBehavior: { RebootBehavior: 'NeverReboots' },
      supportUrl: `https://support.microsoft.com/help/${kb}`,
      kbArticleId: String(kb),
    },
    localized: ctx.settings.languages.map((language) => ({ language, title: `Update for ${product.title} (KB${kb})` })),
    prerequisites: [
      { updateIds: [DETECTOID.x64], isCategory: false },
      { updateIds: [product.id], isCategory: true },
      { updateIds: [CLASSIFICATIONS.updates], isCategory: true },
    ],
    files,
    handlerData: { kind: 'commandLine', program: files[0]?.fileName ?? '', arguments: '/quiet', returnCodes: [{ code: 0, result: 'Succeeded' }] },
  };
  return { spec, files };
}

export function generateCatalogChanges(options: ChangesOptions): CatalogChanges {
  if (!Number.isSafeInteger(options.day) || options.day < 1) throw new RangeError('day counts from 1');
  const base = generateCatalog(options.base);
  const plan = base.plan;
  const history: History = { extra: new Map(), expired: new Set() };
  for (let d = 1; d < options.day; d++) record(history, planDay(plan, options, d, history));
  const today = planDay(plan, options, options.day, history);
  const from = CATALOG_END + (options.day - 1) * DAY;
  const until = from + DAY;

  function* documents(): Generator<CatalogDocument> {
    const ctx = newContext(base.settings);
    const seed = base.settings.seed;

    const product = futureProduct(options.day);
    yield toDocument('category', categorySpec(ctx, product), [], 'new-category');

    for (const lp of plan.lines) {
      if (lp.start > lp.end) continue;
      const first = lastSlotAtOrBefore(seed, lp.line, from) + 1;
      const last = Math.min(lastSlotAtOrBefore(seed, lp.line, until), lp.maxSlot);
      for (let s = first; s <= last; s++) {
        const { built } = buildUnit(ctx, lp.line, s, lp.start, true);
        for (const c of built.children) yield toDocument('bundled-leaf', c.spec, c.files, 'new-update');
        yield toDocument(built.role, built.top, built.topFiles, 'new-update');
      }
    }

    const update = firstUpdateOf(ctx, product, options.day, from + 10 * 3_600_000);
    yield toDocument('standalone', update.spec, update.files, 'new-update');

    const later = (p: Pick, state: 'Published' | 'Expired', note?: string): CatalogDocument => {
      const { built, plan: unitPlan } = buildUnit(ctx, p.lp.line, p.s, p.lp.start);
      const revision = latestBaseRevision(p.lp.line, unitPlan) + (history.extra.get(unitKey(p)) ?? 0) + 1;
      const spec = revise(built.top, revision, state, from + 12 * 3_600_000, note);
      return toDocument(built.role, spec, built.topFiles, state === 'Expired' ? 'expiration' : 'new-revision');
    };
    for (const p of today.revised) yield later(p, 'Published', `Revised on ${iso(from).slice(0, 10)}: updated metadata.`);
    for (const p of today.expired) yield later(p, 'Expired');
  }

  return { day: options.day, until, documents, [Symbol.iterator]: documents };
}
