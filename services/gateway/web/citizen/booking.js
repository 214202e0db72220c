// Booking a session for 1–5 people on one family card (KK), and following the outcome live.

import { call, Problem, request } from '../assets/api.js';
import { formatDate, formatTime, t } from '../assets/i18n.js';
import { busy, h, noticeBox, problemBox, show } from '../assets/ui.js';
import { sessionLabel } from './offices.js';
import { follow, joinWaitlist } from './waitlist.js';

const SERVICES = ['new', 'renewal', 'replacement_lost', 'replacement_damaged'];
const PASSPORTS = ['regular', 'electronic'];
const SESSIONS = ['pagi', 'siang'];

function applicantFields(index, known) {
  const id = (name) => `applicant-${index}-${name}`;
  const input = (name, attributes = {}) => h('input', { id: id(name), name: id(name), required: true, ...attributes });
  const select = (name, values, prefix) => h('select', { id: id(name), name: id(name) },
    values.map((v) => h('option', { value: v }, t(`${prefix}.${v}`))));
  return h('fieldset', { class: 'applicant', dataset: { index } },
    h('legend', {}, t('citizen.book.applicant', { n: index + 1 })),
    h('label', { for: id('name') }, t('citizen.book.name')), input('name', { autocomplete: 'off', value: known.full_name || '' }),
    h('label', { for: id('nik') }, t('citizen.profile.nik')), input('nik', { inputmode: 'numeric', value: known.nik || '' }),
    h('label', { for: id('birth') }, t('citizen.profile.birth_date')), input('birth', { type: 'date', value: known.birth_date || '' }),
    h('label', { for: id('service') }, t('citizen.book.service')), select('service', SERVICES, 'citizen.book.service'),
    h('label', { for: id('passport') }, t('citizen.book.passport')), select('passport', PASSPORTS, 'citizen.book.passport'));
}

export async function form(ctx, code, date, session) {
  const [office, holder] = await Promise.all([
    call(null, `/v1/offices/${code}`),
    call(ctx.session, '/v1/me').catch((error) => {
      if (error instanceof Problem && error.code === 'profile_not_found') return {};
      throw error;
    }),
  ]);
  const rules = ctx.config.rules;
  const problems = h('div');
  const kk = h('input', { id: 'kk', name: 'kk', inputmode: 'numeric', required: true, value: holder.kk_number || '', 'aria-describedby': 'kk-hint' });
  const count = h('select', { id: 'count', name: 'count', 'aria-describedby': 'count-hint' },
    Array.from({ length: rules.max_applicants }, (_, i) => h('option', { value: i + 1 }, String(i + 1))));
  const people = h('div', { id: 'applicants' });
  const drawPeople = () => {
    const kept = [...people.querySelectorAll('fieldset')];
    const wanted = Number(count.value);
    while (kept.length > wanted) kept.pop().remove();
    for (let i = kept.length; i < wanted; i += 1) people.append(applicantFields(i, i === 0 ? holder : {}));
  };
  count.addEventListener('change', drawPeople);
  drawPeople();
  // Fallbacks: the other sessions of the date, taken if a release draw finds the wanted one full.
  const others = SESSIONS.filter((s) => s !== session);
  const fallbacks = others.map((other) => h('input', { type: 'checkbox', id: `fallback-${other}`, name: 'fallback', value: other }));
  const fallbackChoice = others.length === 0 ? null : h('fieldset', { id: 'fallbacks', 'aria-describedby': 'fallback-hint' },
    h('legend', {}, t('citizen.book.fallback')),
    h('span', { class: 'hint', id: 'fallback-hint' }, t('citizen.book.fallback.hint')),
    others.map((other, i) => h('label', { for: `fallback-${other}` }, fallbacks[i], ' ',
      t('citizen.book.fallback.session', { session: sessionLabel(other) }))));
  const submit = h('button', { type: 'submit' }, t('citizen.book.submit'));
  const form = h('form', { class: 'card', novalidate: true },
    h('label', { for: 'kk' }, t('citizen.profile.kk_number')), h('span', { class: 'hint', id: 'kk-hint' }, t('citizen.book.kk.hint')), kk,
    h('label', { for: 'count' }, t('citizen.book.count')),
    h('span', { class: 'hint', id: 'count-hint' }, t('citizen.book.count.hint', { max: rules.max_applicants })), count,
    people, fallbackChoice,
    h('div', { class: 'notice', role: 'note' }, t('citizen.book.warning', { days: rules.cooldown_days, limit: rules.max_registrations })),
    h('div', { class: 'actions' }, submit));
  // The same key for a retry after a lost connection (the same booking comes back); a new one after an answer.
  let key = crypto.randomUUID();
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      problems.replaceChildren();
      const body = {
        office: code, date, session, kk_number: kk.value.trim(),
        applicants: [...people.querySelectorAll('fieldset')].map((f) => {
          const value = (name) => f.querySelector(`[id$="-${name}"]`).value.trim();
          return { name: value('name'), nik: value('nik'), birth_date: value('birth'), service: value('service'), passport_type: value('passport') };
        }),
        fallbacks: fallbacks.filter((box) => box.checked).map((box) => box.value),
      };
      let answer;
      try {
        answer = await request(ctx.session, '/v1/bookings', { method: 'POST', body, headers: { 'Idempotency-Key': key } });
      } catch (error) {
        if (!(error instanceof Problem)) throw error;
        if (error.code !== 'offline') key = crypto.randomUUID();
        problems.replaceChildren(problemBox(error));
        if (error.code === 'terms_not_accepted') {
          problems.append(h('a', { class: 'button', href: '#/terms' }, t('citizen.terms.open')));
        }
        if (error.code === 'sold_out') problems.append(joinWaitlist(ctx, body, (b) => outcome(ctx, office, { body: b, headers: new Headers() }, body)));
        problems.scrollIntoView();
        problems.querySelector('[role=alert]').focus?.();
        return;
      }
      key = crypto.randomUUID();
      await outcome(ctx, office, answer, body);
    });
  });
  show(ctx.main,
    h('h2', {}, t('citizen.book.title')),
    h('div', { class: 'card' }, h('dl', { class: 'facts' },
      h('dt', {}, t('citizen.ticket.office')), h('dd', {}, office.name),
      h('dt', {}, t('citizen.ticket.date')), h('dd', {}, formatDate(date)),
      h('dt', {}, t('citizen.ticket.session')), h('dd', {}, sessionLabel(session)))),
    problems, form,
    h('div', { class: 'actions' }, h('a', { class: 'button secondary', href: `#/office/${code}` }, t('common.back'))));
}

// The outcome, live: usually decided in the first answer (201); else a long poll until it is (202).
// `asked`: the body sent, to offer the waitlist on sold_out and to say when a fallback was given.
async function outcome(ctx, office, answer, asked) {
  let booking = answer.body;
  if (booking.status === 'requested') {
    if (booking.waiting_for_draw) {  // asked in the release window: the draw decides it when the window closes
      const time = formatTime(booking.draw_closes_at, booking.timezone || undefined);
      show(ctx.main, h('h2', {}, t('citizen.outcome.draw.title')), h('p', { role: 'status' }, t('citizen.outcome.draw', { time })));
    } else {
      show(ctx.main, h('h2', {}, t('citizen.outcome.waiting.title')), h('p', { role: 'status' }, t('citizen.outcome.waiting')));
    }
    const follow = answer.headers.get('Location') || `/v1/bookings/${booking.booking_id}?wait=25`;
    while (booking.status === 'requested') booking = await call(ctx.session, follow);
  }
  if (['waitlisted', 'offered'].includes(booking.status)) {
    await follow(ctx, booking, (b) => outcome(ctx, office, { body: b, headers: new Headers() }, asked));
    return;
  }
  if (booking.status === 'rejected') {
    show(ctx.main, h('h2', {}, t('citizen.outcome.rejected.title')),
      problemBox({ code: booking.reason, title: booking.reason }),
      h('div', {}, booking.reason === 'sold_out' && asked
        ? joinWaitlist(ctx, asked, (b) => outcome(ctx, office, { body: b, headers: new Headers() }, asked)) : null),
      h('div', { class: 'actions' }, h('a', { class: 'button', href: `#/office/${office.code}` }, t('citizen.outcome.other'))));
    return;
  }
  show(ctx.main,
    h('h2', {}, t('citizen.outcome.confirmed.title')),
    noticeBox(t('citizen.outcome.confirmed')),
    h('div', {}, asked && asked.session !== booking.slot.session
      ? h('p', { class: 'notice', id: 'fallback-given' }, t('citizen.outcome.fallback', { session: sessionLabel(booking.slot.session) })) : null),
    h('div', { class: 'card' },
      h('p', {}, t('citizen.ticket.queue')), h('p', { class: 'big', id: 'queue-number' }, String(booking.queue_number)),
      h('dl', { class: 'facts' },
        h('dt', {}, t('citizen.ticket.office')), h('dd', {}, office.name),
        h('dt', {}, t('citizen.ticket.date')), h('dd', {}, formatDate(booking.slot.date)),
        h('dt', {}, t('citizen.ticket.session')), h('dd', {}, sessionLabel(booking.slot.session)))),
    h('div', { class: 'actions' }, h('a', { class: 'button', href: `#/ticket/${booking.booking_id}` }, t('citizen.outcome.ticket'))));
}
