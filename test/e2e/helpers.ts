import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.KOPPEL_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = new URL('../../test-artifacts/portal/', import.meta.url).pathname;

/** Debian's chromium, headless, with everything that would reach the network switched off; null when absent. */
export async function launchChromium(): Promise<Browser | null> {
  if (!existsSync(CHROMIUM)) return null;
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  // Live regions and the clock-driven "updated" line make no difference to what is checked.
  await page.screenshot({ path, fullPage, animations: 'disabled', caret: 'hide' });
  return path;
}

/**
 * Form controls and buttons without an accessible name (label, aria-label(ledby), title, text):
 * a cheap but real check that a screen-reader user can tell every control apart.
 */
export async function unnamedControls(page: Page): Promise<string[]> {
  // A string, not a function: tsx's name-keeping helpers do not exist inside the page.
  return page.evaluate(UNNAMED_CONTROLS) as Promise<string[]>;
}

const UNNAMED_CONTROLS = `(() => {
  const text = (value) => (value ?? '').trim() !== '';
  const named = (el) => {
    if (text(el.getAttribute('aria-label'))) return true;
    const labelledBy = el.getAttribute('aria-labelledby');
    if (labelledBy && labelledBy.split(/\\s+/).some((id) => text(document.getElementById(id)?.textContent))) return true;
    if (el.labels && [...el.labels].some((l) => text(l.textContent))) return true;
    if (['BUTTON', 'A', 'SUMMARY'].includes(el.tagName)) return text(el.textContent);
    return text(el.getAttribute('title'));
  };
  return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a[href], summary, [tabindex="0"]')]
    .filter((el) => !named(el))
    .map((el) => el.outerHTML.slice(0, 120));
})()`;

/** Every request the page made to another origin (there must be none: all assets come from Koppel). */
export function foreignRequests(page: Page, origin: string): string[] {
  const seen: string[] = [];
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith('data:')) seen.push(url);
  });
  return seen;
}
