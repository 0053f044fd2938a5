import { ApiError, signIn } from '../api.ts';
import { field, h } from '../dom.ts';
import { t } from '../i18n.ts';
import type { EndReason } from '../session.ts';

export async function signInView(container: HTMLElement, reason: EndReason | undefined): Promise<void> {
  document.title = `${t('signIn.title')} – ${t('shell.title')}`;
  const clientId = h('input', {
    id: 'client-id',
    'data-autofocus': true,
    name: 'client-id',
    required: true,
    autocomplete: 'username',
    spellcheck: 'false',
    autocapitalize: 'off',
  });
  const apiToken = h('input', {
    id: 'api-token',
    name: 'api-token',
    type: 'password',
    required: true,
    autocomplete: 'current-password',
  });
  const code = h('input', {
    id: 'totp-code',
    name: 'totp-code',
    required: true,
    inputmode: 'numeric',
    pattern: '[0-9]{6}',
    maxlength: 6,
    autocomplete: 'one-time-code',
  });
  const status = h('div', { class: 'status', role: 'alert' });
  if (reason)
    status.appendChild(
      h(
        'p',
        { class: `notice ${reason === 'expired' ? 'warning' : 'info'}` },
        t(reason === 'expired' ? 'signIn.expired' : 'signIn.signedOut'),
      ),
    );
  const submit = h('button', { type: 'submit' }, t('signIn.submit'));

  const form = h(
    'form',
    {
      class: 'card sign-in',
      novalidate: true,
      onsubmit: (event) => {
        event.preventDefault();
        status.replaceChildren();
        const missing = [clientId, apiToken].filter((input) => input.value.trim() === '');
        const codeValid = /^[0-9]{6}$/.test(code.value.trim());
        for (const input of [clientId, apiToken, code]) input.removeAttribute('aria-invalid');
        if (missing.length > 0 || !codeValid) {
          for (const input of missing) input.setAttribute('aria-invalid', 'true');
          if (!codeValid) code.setAttribute('aria-invalid', 'true');
          status.appendChild(
            h('p', { class: 'notice error' }, t(missing.length > 0 ? 'signIn.missing' : 'signIn.badCode')),
          );
          (missing[0] ?? code).focus();
          return;
        }
        submit.disabled = true;
        signIn(clientId.value.trim(), apiToken.value.trim(), code.value.trim())
          .then(() => {
            // The token is in memory now; the inputs are dropped with this view.
            apiToken.value = '';
            code.value = '';
          })
          .catch((error: unknown) => {
            submit.disabled = false;
            code.value = '';
            let text = t('signIn.failed', { reason: (error as Error).message });
            if (error instanceof ApiError && error.status === 401) text = t('signIn.refused');
            if (error instanceof ApiError && error.status === 429) text = t('signIn.slowDown');
            status.appendChild(h('p', { class: 'notice error' }, text));
            code.focus();
          });
      },
    },
    h('h1', { tabindex: -1 }, t('signIn.title')),
    h('p', { class: 'lead' }, t('signIn.intro')),
    status,
    field(t('signIn.clientId'), clientId),
    field(t('signIn.apiToken'), apiToken),
    field(t('signIn.code'), code, t('signIn.codeHint')),
    h('div', { class: 'actions' }, submit),
    h('p', { class: 'hint' }, t('signIn.memoryOnly')),
  );
  container.appendChild(form);
}
