import { api, type Adapter, type Page } from './api.ts';
import { h, option, replace } from './dom.ts';
import { currentLanguage, formatClock, LANGUAGES, setLanguage, t, type Language } from './i18n.ts';
import type { MessageKey } from './messages.en.ts';
import { currentRoute, href, navigate, type Route } from './router.ts';
import { end, onChange, session, type EndReason } from './session.ts';
import { adaptersView } from './views/adapters.ts';
import { errorDetailView } from './views/error-detail.ts';
import { errorsView } from './views/errors.ts';
import { lopendeZakenView } from './views/lopende-zaken.ts';
import { mailView } from './views/mail.ts';
import { signInView } from './views/sign-in.ts';
import { traceView } from './views/trace.ts';
import { webhooksView } from './views/webhooks.ts';

/** A screen: renders into `container` and may return a clean-up (timers) run when leaving it. */
export type View = (container: HTMLElement, route: Route) => Promise<(() => void) | void>;

interface Screen {
  readonly path: string;
  readonly label: MessageKey;
  readonly view: View;
  /** Shown only when GET /v1/adapters lists this adapter. */
  readonly adapter?: string;
}

const SCREENS: readonly Screen[] = [
  {
    path: 'errors',
    label: 'nav.errors',
    view: (c, r) => (r.path[1] ? errorDetailView(c, r) : errorsView(c, r)),
  },
  { path: 'trace', label: 'nav.trace', view: traceView },
  { path: 'adapters', label: 'nav.adapters', view: adaptersView },
  { path: 'webhooks', label: 'nav.webhooks', view: webhooksView, adapter: 'webhooks' },
  { path: 'mail', label: 'nav.mail', view: mailView, adapter: 'smtp' },
  { path: 'lopende-zaken', label: 'nav.lopendeZaken', view: lopendeZakenView, adapter: 'lopende-zaken' },
];

const app = document.getElementById('app') as HTMLElement;
let cleanup: (() => void) | void;
let installedAdapters: ReadonlySet<string> = new Set();
let endReason: EndReason | undefined;
let lastPath = '';

function shell(route: Route): { main: HTMLElement } {
  const signedIn = session();
  const screens = SCREENS.filter((screen) => !screen.adapter || installedAdapters.has(screen.adapter));
  const active = route.path[0] ?? 'errors';
  const languageSelect = h(
    'select',
    {
      id: 'language',
      onchange: (event) => {
        setLanguage((event.target as HTMLSelectElement).value as Language);
        lastPath = '';
        render();
        document.getElementById('language')?.focus();
      },
    },
    LANGUAGES.map((lang) => option(lang, t(`language.${lang}`), lang === currentLanguage())),
  );
  const main = h('main', { id: 'main', tabindex: -1 });
  replace(
    app,
    h(
      'a',
      {
        class: 'skip-link',
        href: '#main',
        onclick: (event) => {
          event.preventDefault();
          main.focus();
        },
      },
      t('shell.skip'),
    ),
    h(
      'header',
      { class: 'top' },
      h(
        'div',
        { class: 'brand' },
        h('span', { class: 'logo', 'aria-hidden': 'true' }, 'K'),
        t('shell.title'),
      ),
      signedIn
        ? h(
            'nav',
            { 'aria-label': t('shell.nav') },
            h(
              'ul',
              {},
              screens.map((screen) =>
                h(
                  'li',
                  {},
                  h(
                    'a',
                    {
                      href: href([screen.path]),
                      'aria-current': screen.path === active ? 'page' : undefined,
                    },
                    t(screen.label),
                  ),
                ),
              ),
            ),
          )
        : null,
      h(
        'div',
        { class: 'tools' },
        h('label', { for: 'language', class: 'visually-hidden' }, t('shell.language')),
        languageSelect,
        signedIn
          ? [
              h(
                'span',
                { class: 'who', title: t('shell.sessionUntil', { time: formatClock(signedIn.expiresAt) }) },
                signedIn.clientId,
              ),
              h(
                'button',
                { type: 'button', class: 'secondary', onclick: () => end('signed-out') },
                t('shell.signOut'),
              ),
            ]
          : null,
      ),
    ),
    main,
  );
  return { main };
}

function render(): void {
  if (typeof cleanup === 'function') cleanup();
  cleanup = undefined;
  document.documentElement.lang = currentLanguage();
  const route = currentRoute();
  const { main } = shell(route);
  const pathKey = route.path.join('/');
  const samePath = pathKey === lastPath;
  lastPath = pathKey;
  const container = h('div', { class: 'screen' });
  main.appendChild(container);

  const done = (result: (() => void) | void) => {
    cleanup = result;
    // Move focus to the new screen's heading so that screen readers announce it; a filter
    // change on the same screen keeps the reader where the view puts it.
    const target = samePath
      ? container.querySelector<HTMLElement>('[data-focus-after-update]')
      : (container.querySelector<HTMLElement>('[data-autofocus]') ??
        container.querySelector<HTMLElement>('h1'));
    target?.focus();
  };
  const failed = (error: unknown) => {
    container.appendChild(
      h(
        'p',
        { class: 'notice error', role: 'alert' },
        t('common.loadFailed', { reason: (error as Error).message }),
      ),
    );
  };

  if (!session()) {
    signInView(container, endReason).then(done, failed);
    return;
  }
  const screen = SCREENS.find((s) => s.path === route.path[0]);
  if (!screen) {
    navigate(href(['errors']));
    return;
  }
  document.title = `${t(screen.label)} – ${t('shell.title')}`;
  screen.view(container, route).then(done, failed);
}

onChange((reason) => {
  endReason = reason;
  lastPath = '';
  if (reason) {
    installedAdapters = new Set();
    render();
    return;
  }
  api<Page<Adapter>>('GET', '/v1/adapters')
    .then((page) => {
      installedAdapters = new Set(page.items.map((a) => a.name));
    })
    .catch(() => undefined)
    .finally(render);
});

window.addEventListener('hashchange', render);
setLanguage(currentLanguage());
render();
