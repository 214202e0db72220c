// The citizen's account: sign in, terms and conditions, profile, the home menu and "my registrations".

import { call, Problem } from '../assets/api.js';
import { fromProvider, toProvider } from '../assets/oidc.js';
import { formatDate, formatMomentDate, t } from '../assets/i18n.js';
import { busy, h, noticeBox, problemBox, show } from '../assets/ui.js';
import { sessionLabel, statusBadge } from './offices.js';

const PROVIDER_STATE = 'paspor.citizen.signin';

// Sign in: a button per configured OpenID provider ("Masuk dengan Google"), and the development issuer's form.
export async function signIn(ctx) {
  const problems = h('div');
  const parts = [h('h2', {}, t('citizen.signin.title')), h('p', {}, t('citizen.signin.intro')), problems];
  for (const provider of ctx.config.providers) {
    parts.push(
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => toProvider(provider, PROVIDER_STATE, '/') },
        t('citizen.signin.with', { provider: provider.label }))),
    );
  }
  if (ctx.config.dev_issuer) {
    const email = h('input', { id: 'signin-email', name: 'email', type: 'email', autocomplete: 'email', required: true });
    const name = h('input', { id: 'signin-name', name: 'name', autocomplete: 'name' });
    const submit = h('button', { type: 'submit' }, t('citizen.signin.submit'));
    const form = h('form', { class: 'card', novalidate: true },
      h('h3', {}, t('citizen.signin.dev.title')),
      h('p', { class: 'muted' }, t('citizen.signin.dev.note')),
      h('label', { for: 'signin-email' }, t('citizen.signin.email')), email,
      h('label', { for: 'signin-name' }, t('citizen.signin.name')), name,
      h('div', { class: 'actions' }, submit));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(submit, async () => {
        problems.replaceChildren();
        if (!email.value.includes('@')) {
          problems.replaceChildren(problemBox({ code: 'citizen_email', detail: t('citizen.signin.email.invalid'), detail_id: t('citizen.signin.email.invalid') }));
          email.focus();
          return;
        }
        try {
          const token = await call(null, '/v1/dev/token', { method: 'POST', body: { subject: email.value.trim(), name: name.value.trim() } });
          ctx.session.token = token.access_token;
          await afterSignIn(ctx);
        } catch (error) {
          if (!(error instanceof Problem)) throw error;
          problems.replaceChildren(problemBox(error));
        }
      });
    });
    parts.push(form);
  }
  show(ctx.main, ...parts);
}

// Back from an OpenID provider (`assets/oidc.js`): keep its token if the state and nonce are the ones sent.
export function finishProviderSignIn(ctx) {
  fromProvider(ctx.session, PROVIDER_STATE, '/#/');
}

// After signing in: the terms first (if not accepted), then the profile (if none), then home.
async function afterSignIn(ctx) {
  const terms = await call(ctx.session, '/v1/me/terms');
  if (!terms.accepted) return ctx.go('#/terms');
  try {
    await call(ctx.session, '/v1/me');
  } catch (error) {
    if (error instanceof Problem && error.code === 'profile_not_found') return ctx.go('#/profile');
    throw error;
  }
  return ctx.go('#/');
}

export async function terms(ctx) {
  const current = await call(ctx.session, '/v1/me/terms');
  const problems = h('div');
  const agree = h('input', { type: 'checkbox', id: 'terms-agree', name: 'agree' });
  const submit = h('button', { type: 'submit' }, t('common.next'));
  const items = (prefix, n) => h('ol', {}, Array.from({ length: n }, (_, i) => h('li', {}, t(`${prefix}.${i + 1}`))));
  const form = h('form', { class: 'card', novalidate: true },
    h('h3', {}, t('citizen.terms.booking')), items('citizen.terms.booking', 4),
    h('h3', {}, t('citizen.terms.data')), items('citizen.terms.data', 3),
    h('p', { class: 'muted' }, t('citizen.terms.version', { version: current.current_version })),
    h('label', { class: 'check', for: 'terms-agree' }, agree, t('citizen.terms.agree')),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      if (!agree.checked) {
        problems.replaceChildren(problemBox({ code: 'citizen_terms', detail: t('citizen.terms.required'), detail_id: t('citizen.terms.required') }));
        agree.focus();
        return;
      }
      try {
        await call(ctx.session, '/v1/me/terms', { method: 'POST', body: { version: current.current_version } });
        await afterSignIn(ctx);
      } catch (error) {
        if (!(error instanceof Problem)) throw error;
        problems.replaceChildren(problemBox(error));
      }
    });
  });
  const notice = current.accepted_version && !current.accepted ? noticeBox(t('citizen.terms.changed')) : '';
  show(ctx.main, h('h2', {}, t('citizen.terms.title')), notice, problems, form);
}

const PROFILE_FIELDS = [
  ['full_name', 'text', 'name'],
  ['nik', 'text', 'off'],
  ['kk_number', 'text', 'off'],
  ['birth_date', 'date', 'bday'],
  ['phone', 'tel', 'tel'],
  ['email', 'email', 'email'],
];

export async function profile(ctx) {
  let known = null;
  try {
    known = await call(ctx.session, '/v1/me');
  } catch (error) {
    if (!(error instanceof Problem) || error.code !== 'profile_not_found') throw error;
  }
  const claims = ctx.session.claims || {};
  const guess = { full_name: claims.name || '', email: claims.email || (String(claims.sub || '').includes('@') ? claims.sub : '') };
  const problems = h('div');
  const inputs = {};
  const fields = PROFILE_FIELDS.map(([name, type, autocomplete]) => {
    inputs[name] = h('input', {
      id: `profile-${name}`, name, type, autocomplete, required: true,
      inputmode: name === 'nik' || name === 'kk_number' ? 'numeric' : undefined,
      value: (known && known[name]) || guess[name] || '',
      'aria-describedby': `profile-${name}-hint`,
    });
    return [h('label', { for: `profile-${name}` }, t(`citizen.profile.${name}`)),
      h('span', { class: 'hint', id: `profile-${name}-hint` }, t(`citizen.profile.${name}.hint`)), inputs[name]];
  });
  const submit = h('button', { type: 'submit' }, t('common.save'));
  const form = h('form', { class: 'card', novalidate: true }, fields, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      const body = Object.fromEntries(Object.entries(inputs).map(([k, input]) => [k, input.value.trim()]));
      try {
        await call(ctx.session, '/v1/me', { method: 'PUT', body });
        sessionStorage.setItem('paspor.citizen.notice', 'citizen.profile.saved');
        ctx.go('#/');
      } catch (error) {
        if (!(error instanceof Problem)) throw error;
        problems.replaceChildren(problemBox(error));
        problems.scrollIntoView();
      }
    });
  });
  show(ctx.main, h('h2', {}, t('citizen.profile.title')), h('p', {}, t('citizen.profile.intro')), problems, form);
}

// Home: the seed's menu (Antrian Paspor, my registrations, profile) and the upcoming booking, if any.
export async function home(ctx) {
  const terms = await call(ctx.session, '/v1/me/terms');
  if (!terms.accepted) return ctx.go('#/terms');
  const counted = await call(ctx.session, '/v1/me/registrations');
  const said = sessionStorage.getItem('paspor.citizen.notice');
  sessionStorage.removeItem('paspor.citizen.notice');
  const upcoming = counted.active_booking_id
    ? h('div', { class: 'card' }, h('h3', {}, t('citizen.home.upcoming')),
      h('a', { class: 'button', href: `#/ticket/${counted.active_booking_id}` }, t('citizen.home.ticket')))
    : '';
  const signOut = h('button', { type: 'button', class: 'secondary', onclick: () => signOutOf(ctx) }, t('common.signout'));
  show(ctx.main,
    h('h2', {}, t('citizen.home.title')),
    said ? noticeBox(t(said)) : '',
    upcoming,
    h('nav', { 'aria-label': t('citizen.home.menu') }, h('ul', { class: 'menu' },
      h('li', {}, h('a', { class: 'button', href: '#/offices' }, t('citizen.home.book'))),
      h('li', {}, h('a', { class: 'button secondary', href: '#/registrations' }, t('citizen.home.registrations'))),
      h('li', {}, h('a', { class: 'button secondary', href: '#/profile' }, t('citizen.home.profile'))),
      h('li', {}, signOut))),
    h('p', { class: 'muted' }, t('citizen.home.used', { used: counted.used, limit: counted.used + counted.left })));
}

async function signOutOf(ctx) {
  ctx.session.token = null;
  if ('caches' in window) await caches.delete('paspor-tickets'); // tickets are personal
  ctx.go('#/signin');
}

// "My registrations": n of 5 used, when the next booking is allowed, and every booking.
export async function registrations(ctx) {
  const [counted, bookings] = await Promise.all([
    call(ctx.session, '/v1/me/registrations'),
    call(ctx.session, '/v1/bookings'),
  ]);
  const limit = counted.used + counted.left;
  const next = counted.left === 0
    ? t('citizen.registrations.none_left')
    : counted.active_booking_id
      ? t('citizen.registrations.active')
      : counted.next_allowed_at
        ? t('citizen.registrations.next', { date: formatMomentDate(counted.next_allowed_at) })
        : t('citizen.registrations.now');
  const list = bookings.length
    ? h('ul', { class: 'list' }, bookings.map((b) => h('li', {},
      h('strong', {}, `${formatDate(b.slot.date)} · ${sessionLabel(b.slot.session)}`), ' ',
      statusBadge(b.status), h('br'),
      h('span', { class: 'muted' }, b.slot.office,
        b.queue_number ? ` · ${t('citizen.ticket.queue')} ${b.queue_number}` : ''), ' ',
      ['confirmed', 'checked_in', 'cancelled'].includes(b.status)
        ? h('a', { href: `#/ticket/${b.booking_id}` }, t('citizen.registrations.open')) : '')))
    : h('p', {}, t('citizen.registrations.empty'));
  show(ctx.main,
    h('h2', {}, t('citizen.registrations.title')),
    h('div', { class: 'card' },
      h('p', { class: 'big', id: 'registrations-used' }, t('citizen.registrations.count', { used: counted.used, limit })),
      h('p', {}, t('citizen.registrations.rule', { limit, days: ctx.config.rules.spacing_days })),
      h('p', { id: 'registrations-next' }, h('strong', {}, next))),
    h('section', { class: 'card' }, h('h3', {}, t('citizen.registrations.bookings')), list),
    h('div', { class: 'actions' }, h('a', { class: 'button secondary', href: '#/' }, t('common.back'))));
}
