// Options: the settings, the product and classification tree, languages and the schedule.
import type { CategoryNode } from '../../domain/catalog-records.ts';
import { normalizeGuid, resolveDownstreamSettings, selectedLanguages, settingDefinition } from '../../domain/settings.ts';
import type { Store } from '../../store/index.ts';
import type { Handler } from '../context.ts';
import { ApiProblem, type FieldError } from '../problem.ts';
import { applySettings, checkSettingValue, settingView, settingViews, unsetSetting } from '../operations/settings.ts';

const PRODUCT_TYPES = new Set(['Company', 'ProductFamily', 'Product']);

interface TreeItem {
  readonly id: string;
  readonly title: string;
  readonly type: string;
  readonly selected: boolean;
  readonly inherited: boolean;
  readonly children: TreeItem[];
}

/** Companies > product families > products, as the WSUS Products and Classifications dialog shows them. */
export async function categoryTree(store: Store) {
  const [categories, stored] = await Promise.all([store.catalog.categories(), store.settings.all()]);
  const { settings } = resolveDownstreamSettings(stored);
  const products = new Set(settings.products.map(normalizeGuid));
  const classifications = new Set(settings.classifications.map(normalizeGuid));
  const productNodes = categories.filter((c) => PRODUCT_TYPES.has(c.categoryType ?? ''));
  const byId = new Map(productNodes.map((c) => [c.updateId.toLowerCase(), c]));
  const childrenOf = new Map<string, CategoryNode[]>();
  const roots: CategoryNode[] = [];
  for (const c of productNodes) {
    const parents = c.parentIds.map((p) => p.toLowerCase()).filter((p) => byId.has(p));
    if (parents.length === 0) roots.push(c);
    for (const p of parents) childrenOf.set(p, [...(childrenOf.get(p) ?? []), c]);
  }
  const build = (c: CategoryNode, inherited: boolean, path: Set<string>): TreeItem => {
    const id = c.updateId.toLowerCase();
    const selected = products.has(id);
    const next = new Set(path).add(id);
    return {
      id,
      title: c.title,
      type: c.categoryType ?? 'Product',
      selected,
      inherited,
      children: (childrenOf.get(id) ?? [])
        .filter((child) => !next.has(child.updateId.toLowerCase()))
        .sort((a, b) => a.title.localeCompare(b.title))
        .map((child) => build(child, inherited || selected, next)),
    };
  };
  return {
    products: roots.sort((a, b) => a.title.localeCompare(b.title)).map((c) => build(c, false, new Set())),
    classifications: categories
      .filter((c) => c.categoryType === 'UpdateClassification')
      .sort((a, b) => a.title.localeCompare(b.title))
      .map((c) => ({ id: c.updateId.toLowerCase(), title: c.title, selected: classifications.has(c.updateId.toLowerCase()) })),
    selection: { products: [...products], classifications: [...classifications] },
  };
}

async function languageList(store: Store) {
  const [languages, stored] = await Promise.all([store.languages.list(), store.settings.all()]);
  const selection = resolveDownstreamSettings(stored).settings.languages;
  const wanted = selectedLanguages(selection, Intl.DateTimeFormat().resolvedOptions().locale);
  return {
    selection: selection.kind === 'list' ? selection.languages : selection.kind,
    languages: languages.map((l) => ({ shortName: l.shortName, longName: l.longName, enabled: l.enabled, selected: wanted === undefined || wanted.includes(l.shortName.toLowerCase()) })),
  };
}

export const optionHandlers: Record<string, Handler> = {
  listSettings: async (ctx) => settingViews(ctx.store),

  patchSettings: async (ctx) => {
    const body = ctx.body as Record<string, unknown>;
    const keys = Object.keys(body);
    if (keys.length === 0) throw new ApiProblem(400, 'nothing to change: give one or more "key": value pairs', { errors: [{ field: 'body', message: 'empty' }] });
    const values: Record<string, unknown> = {};
    const errors: FieldError[] = [];
    for (const key of keys) {
      try {
        settingDefinition(key);
        values[key] = checkSettingValue(key, body[key], `body.${key}`);
      } catch (error) {
        if (error instanceof ApiProblem) errors.push(...(error.errors ?? [{ field: `body.${key}`, message: error.message }]));
        else errors.push({ field: `body.${key}`, message: (error as Error).message });
      }
    }
    if (errors.length > 0) throw new ApiProblem(400, `nothing was changed: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, { errors });
    await applySettings(ctx.store, values);
    await ctx.audit('settings.set', keys.join(','), { keys, values: Object.fromEntries(keys.map((k) => [k, settingDefinition(k).kind === 'secret' ? '********' : values[k]])) });
    return settingViews(ctx.store);
  },

  getSetting: async (ctx) => settingView(ctx.store, ctx.params.key),

  putSetting: async (ctx) => {
    const key = ctx.params.key as string;
    const value = checkSettingValue(key, (ctx.body as { value: unknown }).value, 'body.value');
    await applySettings(ctx.store, { [key]: value });
    await ctx.audit('settings.set', key, { value: settingDefinition(key).kind === 'secret' ? '********' : value });
    return settingView(ctx.store, key);
  },

  deleteSetting: async (ctx) => {
    await unsetSetting(ctx.store, ctx.params.key);
    await ctx.audit('settings.unset', ctx.params.key);
    return settingView(ctx.store, ctx.params.key);
  },

  getCategories: async (ctx) => categoryTree(ctx.store),

  putCategorySelection: async (ctx) => {
    const body = ctx.body as { products?: string[]; classifications?: string[] };
    if (body.products === undefined && body.classifications === undefined) throw new ApiProblem(400, 'nothing to change: give products, classifications or both', { errors: [{ field: 'body', message: 'empty' }] });
    const categories = await ctx.store.catalog.categories();
    // Once the catalog has categories, only those can be chosen (before the first sync, any id).
    const known = (types: Set<string>) => new Set(categories.filter((c) => types.has(c.categoryType ?? '')).map((c) => c.updateId.toLowerCase()));
    const errors: FieldError[] = [];
    const values: Record<string, unknown> = {};
    for (const [key, ids, types] of [
      ['products', body.products, PRODUCT_TYPES],
      ['classifications', body.classifications, new Set(['UpdateClassification'])],
    ] as const) {
      if (ids === undefined) continue;
      const allowed = known(types);
      ids.forEach((id, i) => {
        if (allowed.size > 0 && !allowed.has(id)) errors.push({ field: `body.${key}.${i}`, message: `${id} is not a ${key === 'products' ? 'product' : 'classification'} in the catalog` });
      });
      try {
        values[key] = checkSettingValue(key, ids, `body.${key}`);
      } catch (error) {
        errors.push(...((error as ApiProblem).errors ?? []));
      }
    }
    if (errors.length > 0) throw new ApiProblem(400, `nothing was changed: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, { errors });
    await applySettings(ctx.store, values);
    await ctx.audit('settings.set', Object.keys(values).join(','), values);
    return categoryTree(ctx.store);
  },

  listLanguages: async (ctx) => languageList(ctx.store),

  getSchedule: async (ctx) => {
    const { schedule } = resolveDownstreamSettings(await ctx.store.settings.all()).settings;
    return { ...schedule, nextSyncAt: (await ctx.sync.status()).nextSyncAt };
  },
};

