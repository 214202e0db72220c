// The citizen app: boots the catalogue, the language switch and the service worker, then routes by the URL's hash.

import { config, Problem, Session } from '../assets/api.js';
import { loadCatalogue, t } from '../assets/i18n.js';
import { h, languageButton, problemBox, show } from '../assets/ui.js';
import * as account from './account.js';
import * as booking from './booking.js';
import * as offices from './offices.js';
import * as ticket from './ticket.js';

// [pattern, view, who may see it]: "open" needs no sign-in; the ticket must open offline, so it asks nothing first.
const ROUTES = [
  [/^#?\/?$/, account.home, 'citizen'],
  [/^#\/signin$/, account.signIn, 'open'],
  [/^#\/terms$/, account.terms, 'citizen'],
  [/^#\/profile$/, account.profile, 'citizen'],
  [/^#\/registrations$/, account.registrations, 'citizen'],
  [/^#\/offices$/, offices.finder, 'citizen'],
  [/^#\/office\/([A-Z0-9-]{2,16})$/, offices.calendar, 'citizen'],
  [/^#\/book\/([A-Z0-9-]{2,16})\/(\d{4}-\d{2}-\d{2})\/(pagi|siang)$/, booking.form, 'citizen'],
  [/^#\/ticket\/([0-9a-f-]{36})$/, ticket.view, 'citizen'],
];

const main = document.getElementById('main');
const ctx = {
  main,
  session: new Session('citizen'),
  config: null,
  go(hash) {
    if (location.hash === hash) render();
    else location.hash = hash;
  },
};

let shown = false;

async function render() {
  // "#main" (the skip link) is an anchor in the page, not a route: the view stays.
  if (shown && location.hash && !location.hash.startsWith('#/')) return;
  shown = true;
  const hash = location.hash.startsWith('#/') ? location.hash : '#/';
  const route = ROUTES.find(([pattern]) => pattern.test(hash));
  if (!route) return ctx.go('#/');
  const [pattern, view, who] = route;
  if (who !== 'open' && !ctx.session.token) return ctx.go('#/signin');
  try {
    await view(ctx, ...hash.match(pattern).slice(1));
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    if (error.code === 'unauthenticated') {
      ctx.session.token = null;
      return ctx.go('#/signin');
    }
    show(main, h('h2', {}, t('citizen.error.title')), problemBox(error), retryButton());
  }
}

function retryButton() {
  return h('div', { class: 'actions' }, h('button', { type: 'button', onclick: render }, t('common.retry')));
}

async function boot() {
  await loadCatalogue('citizen');
  document.getElementById('language-slot').replaceChildren(languageButton());
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js', { scope: '/' });
  try {
    ctx.config = await config();
  } catch (error) {
    const again = h('button', { type: 'button', onclick: () => location.reload() }, t('common.retry'));
    show(main, h('h2', {}, t('citizen.error.title')), problemBox(error), h('div', { class: 'actions' }, again));
    return;
  }
  account.finishProviderSignIn(ctx); // back from an OpenID provider with a token in the URL's fragment
  window.addEventListener('hashchange', render);
  window.addEventListener('languagechange', render);
  render();
}

boot();
