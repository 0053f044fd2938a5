import { en, type MessageKey } from './messages.en.ts';
import { nl } from './messages.nl.ts';

export type Language = 'nl' | 'en';
export const LANGUAGES: readonly Language[] = ['nl', 'en'];
const dictionaries: Record<Language, Record<MessageKey, string>> = { en, nl };
// Only the language choice is stored; never anything of the session.
const STORAGE_KEY = 'koppel.portal.language';

let language: Language = initialLanguage();
let locale = localeFor(language);

function initialLanguage(): Language {
  const stored = safeStorage()?.getItem(STORAGE_KEY);
  if (stored === 'nl' || stored === 'en') return stored;
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.toLowerCase().split('-')[0];
    if (base === 'nl' || base === 'en') return base;
  }
  return 'en';
}

function safeStorage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

/** The browser's own regional variant of the language (en-GB dates for a British browser). */
function localeFor(lang: Language): string {
  return (navigator.languages ?? []).find((tag) => tag.toLowerCase().split('-')[0] === lang) ?? lang;
}

export function currentLanguage(): Language {
  return language;
}

export function setLanguage(next: Language): void {
  language = next;
  locale = localeFor(next);
  safeStorage()?.setItem(STORAGE_KEY, next);
  document.documentElement.lang = next;
}

export function hasMessage(key: string): key is MessageKey {
  return key in en;
}

/** The text for `key` in the current language, with `{name}` placeholders filled. */
export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  return dictionaries[language][key].replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  return new Intl.DateTimeFormat(locale, { dateStyle: 'short', timeStyle: 'medium' }).format(new Date(iso));
}

export function formatHour(iso: string): string {
  return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
}

export function formatClock(date: Date): string {
  return new Intl.DateTimeFormat(locale, { timeStyle: 'medium' }).format(date);
}

export function formatNumber(n: number): string {
  return new Intl.NumberFormat(locale).format(n);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${formatNumber(Math.round(ms / 100) / 10)} s`;
  if (ms < 3_600_000) return `${formatNumber(Math.round(ms / 6000) / 10)} min`;
  return `${formatNumber(Math.round(ms / 360_000) / 10)} h`;
}
