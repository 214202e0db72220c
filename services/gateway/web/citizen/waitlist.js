// The waitlist of a full session: join it, wait for a freed place, and accept the place held for you.

import { call, Problem } from '../assets/api.js';
import { formatMomentDate, formatTime, t } from '../assets/i18n.js';
import { busy, h, problemBox, show } from '../assets/ui.js';

const WAITING = ['waitlisted', 'offered'];
// A place may free up hours later: while this page shows the waiting booking, it looks again this often
// (the gateway's long poll answers only while a booking is `requested`).
const LOOK_AGAIN_SECONDS = 15;

// "Join the waitlist" for a booking refused sold_out: POST /v1/waitlist with the same body; `decided(booking)`
// shows the booking once it is confirmed or refused.
export function joinWaitlist(ctx, body, decided) {
  const problems = h('div');
  const key = crypto.randomUUID();  // a retry after a lost connection finds the same waiting booking
  const button = h('button', { type: 'button', id: 'join-waitlist' }, t('citizen.waitlist.join'));
  button.addEventListener('click', () => busy(button, async () => {
    problems.replaceChildren();
    let booking;
    try {
      booking = await call(ctx.session, '/v1/waitlist', { method: 'POST', body: { ...body, fallbacks: [] }, headers: { 'Idempotency-Key': key } });
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      problems.replaceChildren(problemBox(error));
      return;
    }
    await follow(ctx, booking, decided);
  }));
  return h('div', { class: 'card', id: 'waitlist-offer' },
    h('p', {}, t('citizen.waitlist.explain')), problems, h('div', { class: 'actions' }, button));
}

// A waiting booking, kept up to date while this page shows it; `decided` takes over once it is settled.
export async function follow(ctx, booking, decided) {
  const view = h('section', { id: 'waitlist' });
  let shown = false;
  while (booking.status === 'requested' || WAITING.includes(booking.status)) {
    render(ctx, view, booking, decided);
    if (!shown) show(ctx.main, view);
    shown = true;
    const path = `/v1/bookings/${booking.booking_id}`;
    try {
      // The long poll answers at once when a booking is decided, not when it is waitlisted: look often.
      if (booking.status === 'requested') booking = await call(ctx.session, `${path}?wait=2`);
      else {
        await new Promise((resolve) => { setTimeout(resolve, LOOK_AGAIN_SECONDS * 1000); });
        if (!view.isConnected) return;  // the citizen went elsewhere (or accepted: `decided` showed it)
        booking = await call(ctx.session, path);
      }
    } catch (error) {
      if (!(error instanceof Problem) || error.code !== 'offline') throw error;
    }
    if (!view.isConnected) return;
  }
  await decided(booking);
}

function render(ctx, view, booking, decided) {
  if (booking.status === 'requested') {
    view.replaceChildren(h('h2', {}, t('citizen.outcome.waiting.title')), h('p', { role: 'status' }, t('citizen.outcome.waiting')));
    return;
  }
  const session = t(`common.session.${booking.slot.session}`);
  const when = `${formatMomentDate(booking.slot.date)}, ${session}`;
  if (booking.status === 'waitlisted') {
    view.replaceChildren(
      h('h2', {}, t('citizen.waitlist.waiting.title')),
      h('p', { role: 'status', dataset: { status: 'waitlisted' } }, t('citizen.waitlist.waiting', { when })));
    return;
  }
  const zone = booking.timezone || undefined;
  const until = `${formatMomentDate(booking.hold_until, zone)} ${formatTime(booking.hold_until, zone)}`;
  const problems = h('div');
  const accept = h('button', { type: 'button', id: 'accept-offer' }, t('citizen.waitlist.accept'));
  accept.addEventListener('click', () => busy(accept, async () => {
    problems.replaceChildren();
    let answer;
    try {
      answer = await call(ctx.session, `/v1/bookings/${booking.booking_id}/accept`, { method: 'POST' });
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      problems.replaceChildren(problemBox(error));
      return;
    }
    view.remove();  // the follower stops; the outcome takes the page
    await decided(answer);
  }));
  const shown = view.querySelector('[data-status=offered]');
  if (shown && shown.dataset.until === booking.hold_until) return;  // unchanged: keep the citizen's focus
  view.replaceChildren(
    h('h2', {}, t('citizen.waitlist.offered.title')),
    h('p', { role: 'status', dataset: { status: 'offered', until: booking.hold_until } },
      t('citizen.waitlist.offered', { when, until, number: booking.queue_number })),
    problems, h('div', { class: 'actions' }, accept));
}
