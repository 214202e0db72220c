// The ticket: QR code, queue number, office, date and session; add to calendar; cancel (its cool-down said first).
// It opens offline once it has been opened: the service worker keeps the booking, the office and the QR image.

import { blob, call, Problem } from '../assets/api.js';
import { formatDate, formatMomentDate, formatTime, t } from '../assets/i18n.js';
import { busy, h, noticeBox, problemBox, show } from '../assets/ui.js';
import { addDays, sessionLabel, statusBadge } from './offices.js';

const ISSUE_WAIT_MS = 20000;

async function qrImage(ctx, id) {
  // The ticket is issued just after the booking is confirmed: wait for it a little.
  const deadline = Date.now() + ISSUE_WAIT_MS;
  for (;;) {
    try {
      return URL.createObjectURL(await blob(ctx.session, `/v1/bookings/${id}/ticket.svg`));
    } catch (error) {
      if (!(error instanceof Problem) || error.code !== 'ticket_not_issued' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

function icsText(booking, office, now) {
  const stamp = (iso) => new Date(iso).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const escape = (text) => text.replace(/[\\;,]/g, (c) => `\\${c}`);
  return [
    'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Antrian Paspor//citizen app//ID', 'BEGIN:VEVENT',
    `UID:${booking.booking_id}@antrian-paspor`,
    `DTSTAMP:${stamp(now)}`,
    `DTSTART:${stamp(booking.starts_at)}`,
    `DTEND:${stamp(booking.ends_at)}`,
    `SUMMARY:${escape(t('citizen.ticket.ics.summary', { n: booking.queue_number }))}`,
    `LOCATION:${escape(`${office.name}, ${office.city}`)}`,
    `DESCRIPTION:${escape(t('citizen.ticket.ics.description'))}`,
    'END:VEVENT', 'END:VCALENDAR', '',
  ].join('\r\n');
}

export async function view(ctx, id) {
  const booking = await call(ctx.session, `/v1/bookings/${id}`);
  const office = await call(null, `/v1/offices/${booking.slot.office}`);
  const live = ['confirmed', 'checked_in'].includes(booking.status);
  const said = sessionStorage.getItem('paspor.citizen.cancelled');
  sessionStorage.removeItem('paspor.citizen.cancelled');
  const qr = h('div', { id: 'qr' });
  const hours = booking.starts_at
    ? ` (${formatTime(booking.starts_at, booking.timezone)}–${formatTime(booking.ends_at, booking.timezone)})` : '';
  const actions = h('div', { class: 'actions' });
  if (live && booking.starts_at) {
    const file = new Blob([icsText(booking, office, ctx.config.now)], { type: 'text/calendar' });
    actions.append(h('a', { class: 'button secondary', id: 'add-to-calendar', href: URL.createObjectURL(file), download: `paspor-${id.slice(0, 8)}.ics` },
      t('citizen.ticket.calendar')));
  }
  const confirmBox = h('div', { id: 'cancel-confirm' });
  if (booking.status === 'confirmed') {
    actions.append(h('button', { type: 'button', class: 'danger', id: 'cancel', onclick: () => askToCancel(ctx, booking, confirmBox) },
      t('citizen.ticket.cancel')));
  }
  show(ctx.main,
    h('h2', {}, t('citizen.ticket.title')),
    said ? noticeBox(said) : '',
    h('div', { class: 'card', id: 'ticket' },
      h('p', {}, statusBadge(booking.status)),
      h('p', {}, t('citizen.ticket.queue')),
      h('p', { class: 'big', id: 'queue-number' }, booking.queue_number === null ? '–' : String(booking.queue_number)),
      live ? qr : '',
      h('dl', { class: 'facts' },
        h('dt', {}, t('citizen.ticket.office')), h('dd', {}, office.name, h('br'), h('span', { class: 'muted' }, `${office.city}, ${office.province}`)),
        h('dt', {}, t('citizen.ticket.date')), h('dd', {}, formatDate(booking.slot.date)),
        h('dt', {}, t('citizen.ticket.session')), h('dd', {}, sessionLabel(booking.slot.session) + hours),
        h('dt', {}, t('citizen.ticket.applicants')), h('dd', {}, String(booking.applicants))),
      booking.payment ? paymentFacts(booking) : '',
      live ? h('p', { class: 'muted' }, t('citizen.ticket.show')) : ''),
    confirmBox,
    actions,
    h('div', { class: 'actions' }, h('a', { class: 'button secondary', href: '#/registrations' }, t('citizen.home.registrations'))));
  if (live) {
    try {
      const src = await qrImage(ctx, id);
      qr.replaceChildren(h('img', { class: 'qr', src, alt: t('citizen.ticket.qr', { n: booking.queue_number }) }));
      const worker = 'serviceWorker' in navigator ? await navigator.serviceWorker.ready : null;
      if (worker && navigator.serviceWorker.controller) qr.append(h('p', { class: 'muted', id: 'offline-ready' }, t('citizen.ticket.offline')));
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      qr.replaceChildren(problemBox(error));
    }
  }
}

// The passport fee (PNBP): the billing code to pay at a bank or app, the amount, and the deadline.
function paymentFacts(booking) {
  const p = booking.payment;
  const amount = new Intl.NumberFormat('id-ID', { style: 'currency', currency: 'IDR', maximumFractionDigits: 0 }).format(p.amount);
  const deadline = `${formatMomentDate(p.deadline, booking.timezone)} ${formatTime(p.deadline, booking.timezone)}`;
  return h('dl', { class: 'facts', id: 'payment' },
    h('dt', {}, t('citizen.payment.code')), h('dd', { id: 'billing-code' }, p.billing_code),
    h('dt', {}, t('citizen.payment.amount')), h('dd', {}, amount),
    h('dt', {}, t('citizen.payment.status')), h('dd', { dataset: { payment: p.status } },
      p.status === 'unpaid' ? t('citizen.payment.unpaid', { deadline }) : t(`citizen.payment.${p.status}`)));
}

// Cancelling: what it costs is said before it is done (the registration still counts; the cool-down).
async function askToCancel(ctx, booking, box) {
  const counted = await call(ctx.session, '/v1/me/registrations');
  const days = ctx.config.rules.cooldown_days;
  const until = formatDate(addDays(ctx.config.today, days));
  const yes = h('button', { type: 'button', class: 'danger', id: 'cancel-yes' }, t('citizen.cancel.yes'));
  const no = h('button', { type: 'button', class: 'secondary', id: 'cancel-no', onclick: () => box.replaceChildren() }, t('citizen.cancel.no'));
  const problems = h('div');
  yes.addEventListener('click', () => busy(yes, async () => {
    try {
      await call(ctx.session, `/v1/bookings/${booking.booking_id}/cancel`, { method: 'POST' });
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      problems.replaceChildren(problemBox(error));
      return;
    }
    const after = await call(ctx.session, '/v1/me/registrations');
    const again = after.cooldown_until ? formatMomentDate(after.cooldown_until) : until;
    sessionStorage.setItem('paspor.citizen.cancelled', t('citizen.cancel.done', { date: again }));
    ctx.go(`#/ticket/${booking.booking_id}`);
  }));
  box.replaceChildren(h('section', { class: 'card', role: 'alertdialog', 'aria-labelledby': 'cancel-title', 'aria-describedby': 'cancel-cost' },
    h('h3', { id: 'cancel-title' }, t('citizen.cancel.title')),
    h('p', { id: 'cancel-cost' }, t('citizen.cancel.cost', { days, date: until, used: counted.used, limit: counted.used + counted.left })),
    problems,
    h('div', { class: 'actions' }, yes, no)));
  no.focus();
}
