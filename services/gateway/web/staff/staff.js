// What the staff pages (officer check-in, operator console) share: sign-in with a role, the signed-in line, boot.
//
// A staff page calls boot('officer', render): the catalogue (common, staff and the area's own), the language
// switch, the system's config, then render(ctx) once a token with the area's role is kept; else the sign-in.

import { call, config, Problem, Session } from '../assets/api.js';
import { loadCatalogue, t } from '../assets/i18n.js';
import { fromProvider, toProvider } from '../assets/oidc.js';
import { busy, h, languageButton, problemBox, show } from '../assets/ui.js';

const PROVIDER_STATE = 'paspor.staff.signin';

export async function boot(area, render) {
  await loadCatalogue('staff', area);
  document.getElementById('language-slot').replaceChildren(languageButton());
  const main = document.getElementById('main');
  const ctx = { area, main, session: new Session(area), config: null, render: () => start(ctx, render) };
  try {
    ctx.config = await config();
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    const again = h('button', { type: 'button', onclick: () => location.reload() }, t('common.retry'));
    show(main, h('h2', {}, t('staff.error.title')), problemBox(error), h('div', { class: 'actions' }, again));
    return;
  }
  finishProviderSignIn(ctx);
  window.addEventListener('languagechange', () => ctx.render());
  ctx.render();
}

async function start(ctx, render) {
  const claims = ctx.session.claims;
  if (!claims || claims.role !== ctx.area) return signIn(ctx, claims);
  try {
    await render(ctx);
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    if (error.code === 'unauthenticated') {
      ctx.session.token = null;
      return signIn(ctx, null, error);
    }
    const again = h('button', { type: 'button', onclick: () => ctx.render() }, t('common.retry'));
    show(ctx.main, h('h2', {}, t('staff.error.title')), problemBox(error), h('div', { class: 'actions' }, again));
  }
  return undefined;
}

// "Signed in as ani@kanim (GRESIK)" and the sign-out button, for the foot of a staff page.
export function whoAmI(ctx) {
  const claims = ctx.session.claims || {};
  const out = h('button', { type: 'button', class: 'secondary', id: 'signout', onclick: () => {
    ctx.session.token = null;
    ctx.render();
  } }, t('common.signout'));
  const who = claims.office ? t('staff.signedin.office', { who: claims.sub, office: claims.office }) : t('staff.signedin', { who: claims.sub });
  return h('footer', { class: 'card staff-foot' }, h('p', { class: 'muted' }, who), out);
}

// Sign-in: the configured staff directories (OpenID providers) and, in the embedded mode, the development issuer.
function signIn(ctx, claims, problem = null) {
  const problems = h('div');
  if (problem) problems.append(problemBox(problem));
  else if (claims) problems.append(problemBox({ code: 'forbidden', detail: t(`staff.role.${ctx.area}`), detail_id: t(`staff.role.${ctx.area}`) }));
  const parts = [h('h2', {}, t(`${ctx.area}.signin.title`)), h('p', {}, t(`${ctx.area}.signin.intro`)), problems];
  for (const provider of ctx.config.providers) {
    parts.push(h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => toProvider(provider, PROVIDER_STATE, `/${ctx.area}/`) },
      t('staff.signin.with', { provider: provider.label }))));
  }
  if (ctx.config.dev_issuer) parts.push(devForm(ctx, problems));
  else if (!ctx.config.providers.length) parts.push(h('p', { class: 'muted' }, t('staff.signin.none')));
  show(ctx.main, ...parts);
}

function devForm(ctx, problems) {
  const email = h('input', { id: 'signin-email', name: 'email', type: 'email', autocomplete: 'username', required: true });
  const fields = [h('label', { for: 'signin-email' }, t('staff.signin.email')), email];
  let office = null;
  if (ctx.area === 'officer') {
    office = h('input', { id: 'signin-office', name: 'office', required: true, autocapitalize: 'characters', pattern: '[A-Z0-9-]{2,16}', 'aria-describedby': 'signin-office-hint' });
    fields.push(h('label', { for: 'signin-office' }, t('staff.signin.office'),
      h('span', { class: 'hint', id: 'signin-office-hint' }, t('staff.signin.office.hint'))), office);
  }
  const submit = h('button', { type: 'submit' }, t('staff.signin.submit'));
  const form = h('form', { class: 'card', novalidate: true },
    h('h3', {}, t('staff.signin.dev.title')), h('p', { class: 'muted' }, t('staff.signin.dev.note')),
    ...fields, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      problems.replaceChildren();
      const body = { subject: email.value.trim(), role: ctx.area };
      if (office) body.office = office.value.trim().toUpperCase();
      try {
        if (office) await call(null, `/v1/offices/${encodeURIComponent(body.office || '-')}`); // a known office
        ctx.session.token = (await call(null, '/v1/dev/token', { method: 'POST', body })).access_token;
        ctx.render();
      } catch (error) {
        if (!(error instanceof Problem)) throw error;
        problems.replaceChildren(problemBox(error));
      }
    });
  });
  return form;
}

// Back from a staff directory (OpenID, `assets/oidc.js`) to this page; its token carries the role and office.
function finishProviderSignIn(ctx) {
  fromProvider(ctx.session, PROVIDER_STATE, `/${ctx.area}/`);
}
