// The officer's check-in desk: scan a ticket's QR (camera, photo or pasted text), see the verdict, and the day's list.
//
// The camera is read with BarcodeDetector where the browser has one (Chrome on Android, ChromeOS, macOS); else a
// frame is sent to the gateway, which reads QR codes server-side (POST /v1/checkin {image}). A frame or photo is
// shrunk to black and white first: a small body travels fast on an office's poor connection, and the gateway
// decodes it quickly (it accepts photos of up to PASPOR_GATEWAY_CHECKIN_MAX_BODY_BYTES, 4 MiB).

import { call, Problem } from '../assets/api.js';
import { formatDate, formatTime, problemText, t } from '../assets/i18n.js';
import { busy, h, problemBox, show } from '../assets/ui.js';
import { boot, whoAmI } from '../staff/staff.js';

const SCAN_EVERY_MS = 800;
const MAX_IMAGE_CHARS = 15000; // base64 characters: under the gateway's body limit with the JSON around it
let camera = null; // { stream, timer } while the camera is on

async function checkInDesk(ctx) {
  stopCamera();
  const code = ctx.session.claims.office;
  const office = await call(null, `/v1/offices/${encodeURIComponent(code)}`);
  const desk = { ctx, office, verdict: h('div', { id: 'verdict', 'aria-live': 'assertive' }), list: h('div', { id: 'day-list' }) };
  show(ctx.main,
    h('h2', {}, t('officer.heading', { office: office.name })),
    h('div', { class: 'columns' },
      h('div', {}, desk.verdict, scanner(desk)),
      h('div', {}, desk.list)),
    whoAmI(ctx));
  await refreshList(desk);
}

function scanner(desk) {
  const status = h('p', { class: 'muted', id: 'camera-status', role: 'status' });
  const video = h('video', { id: 'camera', muted: true, playsinline: true, hidden: true, 'aria-label': t('officer.camera.video') });
  const startButton = h('button', { type: 'button', id: 'camera-start' }, t('officer.camera.start'));
  const stopButton = h('button', { type: 'button', class: 'secondary', id: 'camera-stop', hidden: true }, t('officer.camera.stop'));
  startButton.addEventListener('click', () => busy(startButton, () => startCamera(desk, video, status, startButton, stopButton)));
  stopButton.addEventListener('click', () => {
    stopCamera();
    video.hidden = true;
    stopButton.hidden = true;
    startButton.hidden = false;
    status.textContent = '';
  });

  const upload = h('input', { type: 'file', id: 'upload', accept: 'image/*', 'aria-describedby': 'upload-hint' });
  upload.addEventListener('change', async () => {
    const file = upload.files[0];
    if (!file) return;
    try {
      const image = await pictureOf(await loadImage(file));
      await checkIn(desk, { image });
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      verdict(desk, error);
    } finally {
      upload.value = '';
    }
  });

  const payload = h('textarea', { id: 'payload', name: 'payload', rows: 3, spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'payload-hint' });
  const submit = h('button', { type: 'submit' }, t('officer.paste.submit'));
  const form = h('form', { novalidate: true },
    h('label', { for: 'payload' }, t('officer.paste.label'), h('span', { class: 'hint', id: 'payload-hint' }, t('officer.paste.hint'))),
    payload, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      const text = payload.value.trim();
      if (!text) {
        payload.focus();
        return;
      }
      await checkIn(desk, { payload: text });
      payload.value = '';
    });
  });

  return h('section', { class: 'card scanner', 'aria-labelledby': 'scan-title' },
    h('h3', { id: 'scan-title' }, t('officer.scan.title')),
    h('div', { class: 'actions' }, startButton, stopButton), video, status,
    h('label', { for: 'upload' }, t('officer.upload.label'), h('span', { class: 'hint', id: 'upload-hint' }, t('officer.upload.hint'))),
    upload, form);
}

// Ask the gateway to check the ticket in; show the verdict and refresh the day's list. Returns the problem, if any.
// A camera frame without a ticket's QR (`quiet`) is no verdict: the camera looks again.
async function checkIn(desk, body, quiet = false) {
  try {
    const admitted = await call(desk.ctx.session, '/v1/checkin', { method: 'POST', body });
    verdict(desk, null, admitted);
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    if (quiet && error.code === 'malformed') return error;
    verdict(desk, error);
    if (error.code !== 'already_checked_in') return error;
  }
  await refreshList(desk);
  return null;
}

function verdict(desk, problem, admitted = null) {
  const zone = desk.office.timezone;
  let card;
  if (admitted) {
    card = h('section', { class: 'card verdict verdict-ok', dataset: { verdict: 'ok' } },
      h('p', { class: 'big' }, t('officer.verdict.ok')),
      h('p', { class: 'reason' }, t('officer.verdict.queue', { number: admitted.queue_number, session: t(`common.session.${admitted.slot.session}`) })),
      h('p', {}, t('officer.verdict.applicants', { count: admitted.applicants })));
  } else {
    const body = problem.body;
    let reason = problemText(body);
    if (body.code === 'already_checked_in' && body.checked_in) {
      reason = t('officer.verdict.already', { time: formatTime(body.checked_in.checked_in_at, zone), officer: body.checked_in.officer });
    }
    card = h('section', { class: 'card verdict verdict-refused', role: 'alert', dataset: { verdict: body.code || 'refused' } },
      h('p', { class: 'big' }, t('officer.verdict.refused')),
      h('p', { class: 'reason' }, reason));
    if (body.checked_in) {
      card.append(h('p', {}, t('officer.verdict.queue', { number: body.checked_in.queue_number, session: t(`common.session.${body.checked_in.slot.session}`) })));
    }
  }
  desk.verdict.replaceChildren(card);
}

async function refreshList(desk) {
  const day = await call(desk.ctx.session, `/v1/offices/${encodeURIComponent(desk.office.code)}/checkins`);
  const count = (status) => day.tickets.filter((ticket) => ticket.status === status).length;
  const refresh = h('button', { type: 'button', class: 'secondary', id: 'list-refresh' }, t('officer.list.refresh'));
  refresh.addEventListener('click', () => busy(refresh, () => refreshList(desk)));
  const sessions = [...new Set(day.tickets.map((ticket) => ticket.session))];
  desk.list.replaceChildren(h('section', { class: 'card', 'aria-labelledby': 'list-title' },
    h('h3', { id: 'list-title' }, t('officer.list.title', { date: formatDate(day.date) })),
    h('ul', { class: 'counts' },
      h('li', {}, t('officer.list.in', { count: count('checked_in') })),
      h('li', {}, t('officer.list.waiting', { count: count('waiting') })),
      h('li', {}, t('officer.list.absent', { count: count('no_show') })),
      h('li', {}, t('officer.list.cancelled', { count: count('cancelled') }))),
    day.tickets.length ? null : h('p', { class: 'muted' }, t('officer.list.empty')),
    sessions.map((session) => [
      h('h4', {}, t(`common.session.${session}`)),
      h('ul', { class: 'list day-list' }, day.tickets.filter((ticket) => ticket.session === session).map((ticket) => row(ticket, desk.office.timezone))),
    ]),
    h('div', { class: 'actions' }, refresh)));
}

function row(ticket, zone) {
  const states = {
    checked_in: ['state state-in', t('officer.status.checked_in', { time: ticket.checked_in_at ? formatTime(ticket.checked_in_at, zone) : '', officer: ticket.officer || '' })],
    waiting: ['state state-waiting', t('officer.status.waiting')],
    no_show: ['state state-closed', t('officer.status.no_show')],
    cancelled: ['state state-closed', t('officer.status.cancelled')],
  };
  const [cls, text] = states[ticket.status];
  return h('li', { dataset: { status: ticket.status, queue: ticket.queue_number } },
    h('span', { class: 'number' }, t('officer.list.number', { number: ticket.queue_number })),
    h('span', {}, t('officer.list.applicants', { count: ticket.applicants })),
    h('span', { class: cls }, text));
}

// The camera: a frame every 0.8 s, read by the browser's BarcodeDetector or by the gateway, until a verdict.
async function startCamera(desk, video, status, startButton, stopButton) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    status.textContent = t('officer.camera.unavailable');
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  } catch {
    status.textContent = t('officer.camera.denied');
    return;
  }
  video.srcObject = stream;
  video.hidden = false;
  startButton.hidden = true;
  stopButton.hidden = false;
  await video.play();
  const detector = await barcodeDetector();
  camera = { stream, timer: null };
  status.textContent = t('officer.camera.looking');
  const look = async () => {
    if (!camera || camera.stream !== stream) return;
    const body = await frameOf(video, detector);
    if (body) {
      const problem = await checkIn(desk, body, Boolean(body.image));
      if (!(problem && problem.code === 'malformed' && body.image)) { // a verdict: stop until the next ticket
        stopButton.click();
        status.textContent = t('officer.camera.read');
        startButton.textContent = t('officer.camera.next');
        return;
      }
    }
    if (camera && camera.stream === stream) camera.timer = setTimeout(look, SCAN_EVERY_MS);
  };
  camera.timer = setTimeout(look, SCAN_EVERY_MS);
}

function stopCamera() {
  if (!camera) return;
  clearTimeout(camera.timer);
  for (const track of camera.stream.getTracks()) track.stop();
  camera = null;
}

async function barcodeDetector() {
  if (!('BarcodeDetector' in window)) return null;
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    return formats.includes('qr_code') ? new window.BarcodeDetector({ formats: ['qr_code'] }) : null;
  } catch {
    return null;
  }
}

// What to send for the current frame: the payload the browser read, the frame itself for the gateway, or nothing.
async function frameOf(video, detector) {
  if (!video.videoWidth) return null;
  if (detector) {
    const codes = await detector.detect(video);
    return codes.length ? { payload: codes[0].rawValue } : null;
  }
  return { image: await pictureOf(video, video.videoWidth, video.videoHeight) };
}

function loadImage(file) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    const url = URL.createObjectURL(file);
    image.onload = () => {
      URL.revokeObjectURL(url);
      resolve(image);
    };
    image.onerror = () => {
      URL.revokeObjectURL(url);
      reject(new Problem({ code: 'malformed', detail: 'Not an image.', detail_id: 'Bukan gambar.' }, 422));
    };
    image.src = url;
  });
}

// A picture (image or video frame) as a small black-and-white PNG, base64: as large as fits the gateway's limit.
async function pictureOf(source, width = source.naturalWidth, height = source.naturalHeight) {
  let encoded = '';
  for (const side of [640, 480, 360, 280]) {
    const scale = Math.min(1, side / Math.max(width, height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    const context = canvas.getContext('2d', { willReadFrequently: true });
    context.drawImage(source, 0, 0, canvas.width, canvas.height);
    blackAndWhite(context, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
    encoded = await base64(blob);
    if (encoded.length <= MAX_IMAGE_CHARS) return encoded;
  }
  return encoded; // too large still: the gateway says so (payload_too_large)
}

// Otsu's threshold over the grey levels: QR modules become pure black or white, which PNG keeps small.
function blackAndWhite(context, width, height) {
  const picture = context.getImageData(0, 0, width, height);
  const pixels = picture.data;
  const grey = new Uint8ClampedArray(width * height);
  const histogram = new Array(256).fill(0);
  for (let i = 0; i < grey.length; i += 1) {
    grey[i] = (pixels[i * 4] * 299 + pixels[i * 4 + 1] * 587 + pixels[i * 4 + 2] * 114) / 1000;
    histogram[grey[i]] += 1;
  }
  let sum = 0;
  for (let level = 0; level < 256; level += 1) sum += level * histogram[level];
  let below = 0;
  let belowSum = 0;
  let best = 0;
  let threshold = 128;
  for (let level = 0; level < 256; level += 1) {
    below += histogram[level];
    if (!below || below === grey.length) continue;
    belowSum += level * histogram[level];
    const meanBelow = belowSum / below;
    const meanAbove = (sum - belowSum) / (grey.length - below);
    const between = below * (grey.length - below) * (meanBelow - meanAbove) ** 2;
    if (between > best) {
      best = between;
      threshold = level;
    }
  }
  for (let i = 0; i < grey.length; i += 1) {
    const value = grey[i] > threshold ? 255 : 0;
    pixels[i * 4] = value;
    pixels[i * 4 + 1] = value;
    pixels[i * 4 + 2] = value;
    pixels[i * 4 + 3] = 255;
  }
  context.putImageData(picture, 0, 0);
}

function base64(blob) {
  return new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(',')[1] || '');
    reader.readAsDataURL(blob);
  });
}

boot('officer', checkInDesk);
