// Choosing an office (by province, by name, or the nearest with a free slot) and its quota calendar.

import { call, Problem } from '../assets/api.js';
import { formatDate, t } from '../assets/i18n.js';
import { busy, h, problemBox, show } from '../assets/ui.js';

const MAX_RANGE_DAYS = 91; // the gateway answers at most 92 days at once

export function sessionLabel(session) {
  return t(`common.session.${session}`);
}

export function statusBadge(status) {
  return h('span', { class: `state state-${status === 'confirmed' || status === 'checked_in' ? 'open' : 'closed'}`, dataset: { status } },
    t(`citizen.status.${status}`));
}

// A calendar session's state: open, full, closed, not released yet ("later"), or past.
export function sessionState(s) {
  if (s.open) return 'open';
  return { sold_out: 'full', office_closed: 'closed', not_released: 'later', date_past: 'past' }[s.reason] || 'closed';
}

export function addDays(isoDate, days) {
  const [y, m, d] = isoDate.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

function officeItem(office, extra = []) {
  const distance = office.distance_km === null || office.distance_km === undefined
    ? '' : ` · ${t('citizen.offices.distance', { km: office.distance_km })}`;
  return h('li', {},
    h('a', { href: `#/office/${office.code}`, class: 'office-link' }, office.name), h('br'),
    h('span', { class: 'muted' }, `${office.city}, ${office.province}${distance}`), extra);
}

export async function finder(ctx) {
  const all = await call(null, '/v1/offices');
  const provinces = [...new Set(all.map((o) => o.province))].sort((a, b) => a.localeCompare(b));
  const results = h('div', { id: 'office-results', 'aria-live': 'polite' });
  const showList = (heading, list, extras = () => []) => {
    results.replaceChildren(h('section', { class: 'card' }, h('h3', {}, heading),
      list.length ? h('ul', { class: 'list' }, list.map((o, i) => officeItem(o, extras(i)))) : h('p', {}, t('citizen.offices.none'))));
  };

  const nearestButton = h('button', { type: 'button', id: 'nearest' }, t('citizen.offices.nearest'));
  nearestButton.addEventListener('click', () => busy(nearestButton, async () => {
    results.replaceChildren(h('p', { role: 'status' }, t('citizen.offices.locating')));
    let position;
    try {
      position = await new Promise((resolve, reject) =>
        navigator.geolocation.getCurrentPosition(resolve, reject, { timeout: 15000, maximumAge: 600000 }));
    } catch {
      results.replaceChildren(problemBox({ title: t('citizen.offices.no_location') }));
      return;
    }
    const { latitude, longitude } = position.coords;
    const start = ctx.config.today;
    const end = addDays(start, Math.min(ctx.config.rules.window_days, MAX_RANGE_DAYS));
    try {
      const found = await call(null, `/v1/free-slots?lat=${latitude}&lon=${longitude}&start=${start}&end=${end}&limit=3`);
      showList(t('citizen.offices.nearest.title'), found.map((f) => f.office), (i) => [h('br'),
        h('span', { class: 'state state-open' }, t('citizen.offices.first_free', {
          date: formatDate(found[i].session.date), session: sessionLabel(found[i].session.session), left: found[i].session.remaining,
        }))]);
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      results.replaceChildren(problemBox(error));
    }
  }));

  const province = h('select', { id: 'province', name: 'province' },
    h('option', { value: '' }, t('citizen.offices.province.choose')), provinces.map((p) => h('option', { value: p }, p)));
  province.addEventListener('change', () => {
    if (province.value) showList(province.value, all.filter((o) => o.province === province.value));
  });

  const words = h('input', { id: 'office-name', name: 'q', type: 'search', autocomplete: 'off' });
  const search = h('form', { role: 'search' },
    h('label', { for: 'office-name' }, t('citizen.offices.name')), words,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary' }, t('citizen.offices.search'))));
  search.addEventListener('submit', async (event) => {
    event.preventDefault();
    const q = words.value.trim();
    if (!q) return;
    try {
      showList(t('citizen.offices.found', { q }), await call(null, `/v1/offices?q=${encodeURIComponent(q)}`));
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      results.replaceChildren(problemBox(error));
    }
  });

  show(ctx.main,
    h('h2', {}, t('citizen.offices.title')),
    h('p', {}, t('citizen.offices.intro')),
    h('div', { class: 'card' }, h('p', { class: 'muted' }, t('citizen.offices.nearest.hint')), h('div', { class: 'actions' }, nearestButton)),
    h('div', { class: 'card two' },
      h('div', {}, h('label', { for: 'province' }, t('citizen.offices.province')), province),
      h('div', {}, search)),
    results);
}

// The quota calendar ("data kuota dan pengantri"): every date and session, its state, and places left.
export async function calendar(ctx, code) {
  const start = ctx.config.today;
  const end = addDays(start, MAX_RANGE_DAYS);
  const [office, days] = await Promise.all([
    call(null, `/v1/offices/${code}`),
    call(null, `/v1/offices/${code}/calendar?start=${start}&end=${end}`),
  ]);
  const byDate = new Map();
  for (const s of days.sessions) {
    if (!byDate.has(s.date)) byDate.set(s.date, {});
    byDate.get(s.date)[s.session] = s;
  }
  const cell = (s) => {
    if (!s) return h('td', {}, '');
    const state = sessionState(s);
    const label = t(`citizen.calendar.${state}`);
    const count = state === 'open' || state === 'full' ? t('citizen.calendar.count', { left: s.remaining, capacity: s.capacity }) : '';
    const content = state === 'open'
      ? h('a', {
        href: `#/book/${code}/${s.date}/${s.session}`,
        class: 'state state-open',
        'aria-label': t('citizen.calendar.choose', { date: formatDate(s.date), session: sessionLabel(s.session), left: s.remaining }),
      }, label)
      : h('span', { class: `state state-${state}` }, label);
    return h('td', { dataset: { date: s.date, session: s.session, state } }, content, count ? h('br') : '', count ? h('small', {}, count) : '');
  };
  const rows = [...byDate.entries()].map(([date, sessions]) =>
    h('tr', {}, h('th', { scope: 'row' }, formatDate(date, { weekday: 'short', day: 'numeric', month: 'short' })),
      cell(sessions.pagi), cell(sessions.siang)));
  const legend = ['open', 'full', 'closed', 'later'].map((s) => h('span', { class: `state state-${s}` }, t(`citizen.calendar.${s}`)));
  show(ctx.main,
    h('h2', {}, office.name),
    h('p', { class: 'muted' }, `${office.city}, ${office.province}`),
    h('div', { class: 'card' },
      h('h3', {}, t('citizen.calendar.title')),
      h('p', {}, t('citizen.calendar.intro')),
      h('p', { class: 'legend' }, legend.flatMap((l) => [l, ' '])),
      h('table', { class: 'calendar' },
        h('caption', { class: 'visually-hidden' }, t('citizen.calendar.title')),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('citizen.calendar.date')),
          h('th', { scope: 'col' }, sessionLabel('pagi')), h('th', { scope: 'col' }, sessionLabel('siang')))),
        h('tbody', {}, rows))),
    h('div', { class: 'actions' }, h('a', { class: 'button secondary', href: '#/offices' }, t('common.back'))));
}
