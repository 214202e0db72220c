// The operator console: an office's calendar and its fill, capacity and closures (confirmed with what they touch),
// a live view of a release from the gateway's metrics, and the latest audit's verdict.

import { call, Problem } from '../assets/api.js';
import { formatDate, formatMomentDate, formatTime, t } from '../assets/i18n.js';
import { busy, h, noticeBox, problemBox, show } from '../assets/ui.js';
import { boot, whoAmI } from '../staff/staff.js';

const DAYS = 14;
const POLL_MS = 2000;
let live = null; // the metrics poll's timer

async function consoleView(ctx) {
  clearInterval(live);
  const offices = await call(null, '/v1/offices');
  const chosen = sessionStorage.getItem('paspor.operator.office') || 'GRESIK';
  const office = offices.some((o) => o.code === chosen) ? chosen : offices[0].code;
  const state = { ctx, office, start: ctx.config.today, calendar: h('div', { id: 'calendar' }), changes: h('div', { id: 'changes' }) };
  const picker = h('select', { id: 'office' }, offices.map((o) => h('option', { value: o.code, selected: o.code === office }, `${o.name} (${o.code})`)));
  picker.addEventListener('change', () => {
    sessionStorage.setItem('paspor.operator.office', picker.value);
    state.office = picker.value;
    refresh(state);
  });
  show(ctx.main,
    h('h2', {}, t('operator.heading')),
    h('div', { class: 'columns' },
      h('div', {},
        h('section', { class: 'card' }, h('label', { for: 'office' }, t('operator.office')), picker),
        state.calendar, state.changes),
      h('div', {}, liveView(ctx), await auditView(ctx))),
    whoAmI(ctx));
  await refresh(state);
}

async function refresh(state) {
  const end = addDays(state.start, DAYS - 1);
  const calendar = await call(null, `/v1/offices/${state.office}/calendar?start=${state.start}&end=${end}`);
  state.sessions = calendar.sessions;
  const dates = [...new Set(calendar.sessions.map((s) => s.date))];
  const at = (date, session) => calendar.sessions.find((s) => s.date === date && s.session === session);
  const capacity = calendar.sessions.reduce((sum, s) => sum + s.capacity, 0);
  const booked = calendar.sessions.reduce((sum, s) => sum + s.booked, 0);
  const fill = capacity ? Math.round((100 * booked) / capacity) : 0;
  state.calendar.replaceChildren(h('section', { class: 'card', 'aria-labelledby': 'calendar-title' },
    h('h3', { id: 'calendar-title' }, t('operator.calendar.title', { days: DAYS })),
    h('p', {}, t('operator.calendar.fill', { booked, capacity, percent: fill })),
    h('div', { class: 'table-scroll' }, h('table', { class: 'fill' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('operator.calendar.date')),
        ['pagi', 'siang'].map((s) => h('th', { scope: 'col' }, t(`common.session.${s}`))))),
      h('tbody', {}, dates.map((date) => h('tr', { dataset: { date } },
        h('th', { scope: 'row' }, formatDate(date, { weekday: 'short', day: 'numeric', month: 'short' })),
        ['pagi', 'siang'].map((session) => cell(at(date, session))))))))));
  state.changes.replaceChildren(capacityForm(state, dates), closureForm(state, dates));
}

function cell(entry) {
  if (!entry) return h('td', {}, '–');
  const label = t('operator.calendar.cell', { booked: entry.booked, capacity: entry.capacity });
  const closed = entry.reason === 'office_closed';
  return h('td', { dataset: { session: entry.session, booked: entry.booked, capacity: entry.capacity } },
    h('meter', { min: 0, max: Math.max(entry.capacity, 1), value: Math.min(entry.booked, Math.max(entry.capacity, 1)), 'aria-label': label }),
    h('span', { class: 'figures' }, label, closed ? ` · ${t('operator.calendar.closed')}` : ''));
}

function dateAndSession(prefix, dates) {
  const date = h('select', { id: `${prefix}-date` }, dates.map((d) => h('option', { value: d }, formatDate(d))));
  const session = h('select', { id: `${prefix}-session` },
    h('option', { value: '' }, t('operator.session.both')),
    ['pagi', 'siang'].map((s) => h('option', { value: s }, t(`common.session.${s}`))));
  return { date, session, fields: [h('label', { for: `${prefix}-date` }, t('operator.date')), date, h('label', { for: `${prefix}-session` }, t('operator.session')), session] };
}

// The applicants booked in the sessions a change touches (from the calendar shown).
function bookedIn(state, date, session) {
  return state.sessions.filter((s) => s.date === date && (!session || s.session === session)).reduce((sum, s) => sum + s.booked, 0);
}

// A change in two steps: the form, then a confirmation that states what it touches.
function twoSteps(state, form, submit, confirmText, send) {
  const area = h('div', { role: 'status' });
  form.append(area);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = confirmText();
    if (!text) return;
    const yes = h('button', { type: 'button', class: 'danger' }, t('operator.confirm.yes'));
    const no = h('button', { type: 'button', class: 'secondary' }, t('common.cancel'));
    no.addEventListener('click', () => {
      area.replaceChildren();
      submit.focus();
    });
    yes.addEventListener('click', () => busy(yes, async () => {
      try {
        const done = await send();
        await refresh(state);
        document.getElementById('changes').prepend(noticeBox(done));
      } catch (error) {
        if (!(error instanceof Problem)) throw error;
        area.replaceChildren(problemBox(error));
      }
    }));
    area.replaceChildren(h('div', { class: 'card confirm' }, h('p', {}, text), h('div', { class: 'actions' }, yes, no)));
    yes.focus();
  });
}

function capacityForm(state, dates) {
  const { date, session, fields } = dateAndSession('capacity', dates);
  const capacity = h('input', { id: 'capacity', type: 'number', min: 0, max: 10000, inputmode: 'numeric', required: true });
  const submit = h('button', { type: 'submit' }, t('operator.capacity.submit'));
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'capacity-title' },
    h('h3', { id: 'capacity-title' }, t('operator.capacity.title')), ...fields,
    h('label', { for: 'capacity' }, t('operator.capacity.label')), capacity, h('div', { class: 'actions' }, submit));
  twoSteps(state, form, submit, () => {
    if (capacity.value === '' || Number(capacity.value) < 0) {
      capacity.focus();
      return null;
    }
    const booked = bookedIn(state, date.value, session.value);
    return t('operator.capacity.confirm', { date: formatDate(date.value), session: session.value ? t(`common.session.${session.value}`) : t('operator.session.both'), capacity: capacity.value, booked });
  }, async () => {
    const body = { date: date.value, capacity: Number(capacity.value) };
    if (session.value) body.session = session.value;
    await call(state.ctx.session, `/v1/operator/offices/${state.office}/capacity`, { method: 'PUT', body });
    return t('operator.capacity.done', { capacity: body.capacity, date: formatDate(body.date) });
  });
  return form;
}

function closureForm(state, dates) {
  const { date, session, fields } = dateAndSession('closure', dates);
  const reason = h('textarea', { id: 'closure-reason', rows: 2, minlength: 3, maxlength: 300, required: true, 'aria-describedby': 'closure-reason-hint' });
  const submit = h('button', { type: 'submit', class: 'danger' }, t('operator.closure.submit'));
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'closure-title' },
    h('h3', { id: 'closure-title' }, t('operator.closure.title')), ...fields,
    h('label', { for: 'closure-reason' }, t('operator.closure.reason'), h('span', { class: 'hint', id: 'closure-reason-hint' }, t('operator.closure.reason.hint'))),
    reason, h('div', { class: 'actions' }, submit));
  twoSteps(state, form, submit, () => {
    if (reason.value.trim().length < 3) {
      reason.focus();
      return null;
    }
    const booked = bookedIn(state, date.value, session.value);
    return t('operator.closure.confirm', { date: formatDate(date.value), session: session.value ? t(`common.session.${session.value}`) : t('operator.session.both'), booked });
  }, async () => {
    const body = { date: date.value, reason: reason.value.trim() };
    if (session.value) body.session = session.value;
    await call(state.ctx.session, `/v1/operator/offices/${state.office}/closures`, { method: 'POST', body });
    return t('operator.closure.done', { date: formatDate(body.date) });
  });
  return form;
}

// The release as it happens: the gateway's counters every 2 s, turned into rates here.
function liveView(ctx) {
  const figures = {};
  const names = ['requests', 'confirmed', 'refused', 'in_flight', 'fast'];
  const list = h('dl', { class: 'live' }, names.map((name) => h('div', {}, h('dt', {}, t(`operator.live.${name}`)), figures[name] = h('dd', { id: `live-${name}` }, '–'))));
  const note = h('p', { class: 'muted', role: 'status' }, t('operator.live.waiting'));
  let before = null;
  const poll = async () => {
    let text; // Prometheus text, not JSON: read directly
    try {
      const response = await fetch('/metrics', { cache: 'no-store' });
      text = await response.text();
    } catch {
      note.textContent = t('problem.offline');
      return;
    }
    const now = { at: performance.now(), ...counters(text) };
    if (before) {
      const seconds = (now.at - before.at) / 1000;
      const rate = (name) => Math.max(0, (now[name] - before[name]) / seconds).toFixed(1);
      figures.requests.textContent = t('operator.live.rate', { rate: rate('requests') });
      figures.confirmed.textContent = t('operator.live.total', { rate: rate('confirmed'), total: now.confirmed });
      figures.refused.textContent = t('operator.live.total', { rate: rate('refused'), total: now.refused });
      figures.fast.textContent = t('operator.live.total', { rate: rate('fast'), total: now.fast });
    }
    figures.in_flight.textContent = String(now.in_flight);
    note.textContent = t('operator.live.updated', { time: formatTime(new Date().toISOString(), Intl.DateTimeFormat().resolvedOptions().timeZone) });
    before = now;
  };
  poll();
  live = setInterval(poll, POLL_MS);
  return h('section', { class: 'card', 'aria-labelledby': 'live-title' }, h('h3', { id: 'live-title' }, t('operator.live.title')), list, note, h('p', { class: 'muted' }, t('operator.live.note')));
}

// The Prometheus text's counters the live view shows (this gateway's own, since it started).
export function counters(text) {
  const found = { requests: 0, confirmed: 0, refused: 0, in_flight: 0, fast: 0 };
  for (const line of text.split('\n')) {
    const match = line.match(/^(\w+)(?:\{([^}]*)\})? ([0-9.e+-]+)$/);
    if (!match) continue;
    const [, name, labelText = '', value] = match;
    const labels = Object.fromEntries([...labelText.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const number = Number(value);
    if (name === 'paspor_gateway_requests_total' && labels.route !== '/metrics') {
      found.requests += number;
      if (labels.method === 'POST' && labels.route === '/v1/bookings') {
        if (labels.status === '201') found.confirmed += number;
        if (['409', '422', '429'].includes(labels.status)) found.refused += number;
      }
    }
    if (name === 'paspor_gateway_bookings_in_flight') found.in_flight = number;
    if (name === 'paspor_gateway_fast_refusals_total') found.fast += number;
  }
  return found;
}

async function auditView(ctx) {
  const { audit } = await call(ctx.session, '/v1/operator/audit');
  const parts = [h('h3', { id: 'audit-title' }, t('operator.audit.title'))];
  if (!audit) {
    parts.push(h('p', {}, t('operator.audit.none')), h('pre', {}, 'paspor audit'));
  } else {
    const ok = audit.verdict === 'ok';
    parts.push(
      h('p', { class: ok ? 'state state-open' : 'state state-full', dataset: { verdict: audit.verdict } }, t(ok ? 'operator.audit.ok' : 'operator.audit.broken', { findings: audit.findings })),
      h('p', {}, t('operator.audit.when', { date: formatMomentDate(audit.ran_at), time: formatTime(audit.ran_at), events: audit.events_read })),
      Object.keys(audit.broken).length ? h('ul', {}, Object.entries(audit.broken).map(([code, count]) => h('li', {}, `${code}: ${count}`))) : null,
    );
  }
  return h('section', { class: 'card', 'aria-labelledby': 'audit-title' }, ...parts);
}

function addDays(isoDate, days) {
  const [year, month, day] = isoDate.split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

boot('operator', consoleView);
