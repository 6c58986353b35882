// Which languages a downstream server keeps (setting `languages`: all, the server's locale, or a
// list), given what its upstream offers: the languages GetConfigData marks Enabled
// (WSUS-PROTOCOLS §2.4). A language selected here that the upstream does not offer cannot come
// from it: it is left out and reported, so the administrator enables it upstream or drops it.
// Localized data (titles, descriptions, the clients' localized fragments) is kept for the kept
// languages and English, the fallback every client and console uses.
import type { Language } from './catalog-records.ts';
import { selectedLanguages, type LanguageSelection } from './settings.ts';
import type { Fragments, LocalizedProperties } from './update.ts';

export const FALLBACK_LANGUAGE = 'en';

/** The short names an upstream offers: those it marks enabled, all it lists if it marks none. */
export function offeredLanguages(upstream: readonly Language[]): string[] {
  const real = upstream.filter((l) => l.id !== 0 && l.shortName !== 'all');
  const enabled = real.filter((l) => l.enabled);
  return (enabled.length > 0 ? enabled : real).map((l) => l.shortName.toLowerCase());
}

export interface LanguagePlan {
  /** The languages to keep and ask for; undefined = every language (including future ones). */
  readonly kept: readonly string[] | undefined;
  /** Selected here, not offered upstream: left out, and worth a warning. */
  readonly unavailable: readonly string[];
}

export function planLanguages(selection: LanguageSelection, locale: string, offered: readonly string[]): LanguagePlan {
  const wanted = selectedLanguages(selection, locale);
  if (wanted === undefined) return { kept: undefined, unavailable: [] };
  const available = new Set(offered);
  // `locale` gives both `de` and `de-de`: only one of them needs to exist.
  const kept = wanted.filter((l) => available.has(l));
  const unavailable =
    selection.kind === 'locale' ? (kept.length === 0 ? [wanted[0]!] : []) : wanted.filter((l) => !available.has(l));
  return { kept, unavailable };
}

/** Whether localized data of `language` is kept. */
export function keepsLanguage(kept: readonly string[] | undefined, language: string): boolean {
  return kept === undefined || language === FALLBACK_LANGUAGE || kept.includes(language);
}

/**
 * A revision's localized properties and fragments, less the languages not kept. A document with
 * none of the kept languages nor English keeps its first one, so it still has a title.
 */
export function filterLocalized<T extends { readonly localized: readonly LocalizedProperties[] }>(
  record: T,
  fragments: Fragments,
  kept: readonly string[] | undefined,
): { record: T; fragments: Fragments } {
  if (kept === undefined) return { record, fragments };
  let localized = record.localized.filter((l) => keepsLanguage(kept, l.language));
  if (localized.length === 0 && record.localized.length > 0) localized = [record.localized[0]!];
  const languages = new Set(localized.map((l) => l.language));
  const fragmentLanguages = Object.keys(fragments.localized).filter((l) => languages.has(l) || keepsLanguage(kept, l));
  return {
    record: { ...record, localized },
    fragments: { ...fragments, localized: Object.fromEntries(fragmentLanguages.map((l) => [l, fragments.localized[l]!])) },
  };
}

/** The warning an administrator reads (a task) while languages are unavailable upstream. */
export function unavailableLanguagesMessage(unavailable: readonly string[], upstream: string): string {
  return (
    `language${unavailable.length > 1 ? 's' : ''} ${unavailable.join(', ')} selected here ${unavailable.length > 1 ? 'are' : 'is'} not offered by the upstream server ` +
    `${upstream}: updates in ${unavailable.length > 1 ? 'them' : 'it'} are not synchronized; enable ${unavailable.length > 1 ? 'them' : 'it'} there or change the setting languages`
  );
}
