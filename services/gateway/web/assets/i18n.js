// The one message catalogue of every frontend: Indonesian (the default) and English.
//
// Each area keeps its texts in /static/messages/<area>.json as {"id": {key: text}, "en": {key: text}};
// "common" (language switch, problem codes, shared words) is always loaded, then the page's own areas:
//   await loadCatalogue('citizen');  // or 'officer', 'operator': a new area is a new file, nothing else
// Keys are namespaced by area ("citizen.ticket.title"); {name} in a text is replaced by vars.name.
// HTML marks its texts with a data-i18n attribute (the key of its text) and data-i18n-attr
// ("placeholder: citizen.x; aria-label: citizen.y" sets attributes).

export const LANGUAGES = ['id', 'en'];
const STORED = 'paspor.lang';
const catalogue = { id: {}, en: {} };
let current = LANGUAGES.includes(localStorage.getItem(STORED)) ? localStorage.getItem(STORED) : 'id';

export async function loadCatalogue(...areas) {
  const parts = await Promise.all(
    ['common', ...areas].map(async (area) => {
      const response = await fetch(`/static/messages/${area}.json`);
      if (!response.ok) throw new Error(`message catalogue ${area}: ${response.status}`);
      return response.json();
    }),
  );
  for (const part of parts) for (const language of LANGUAGES) Object.assign(catalogue[language], part[language]);
  document.documentElement.lang = current;
  translate(document);
}

export function language() {
  return current;
}

export function setLanguage(wanted) {
  if (!LANGUAGES.includes(wanted)) return;
  current = wanted;
  localStorage.setItem(STORED, wanted);
  document.documentElement.lang = wanted;
  translate(document);
  window.dispatchEvent(new CustomEvent('languagechange', { detail: wanted }));
}

export function has(key) {
  return key in catalogue[current];
}

export function t(key, vars = {}) {
  const text = catalogue[current][key] ?? catalogue.id[key];
  if (text === undefined) {
    console.warn(`no message ${key}`);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

export function translate(root) {
  for (const element of root.querySelectorAll('[data-i18n]')) element.textContent = t(element.dataset.i18n);
  for (const element of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of element.dataset.i18nAttr.split(';')) {
      const [attribute, key] = pair.split(':').map((part) => part.trim());
      if (attribute && key) element.setAttribute(attribute, t(key));
    }
  }
}

const LOCALES = { id: 'id-ID', en: 'en-GB' };

// A calendar date (YYYY-MM-DD) in the user's language: "Senin, 18 Januari 2027".
export function formatDate(isoDate, options = { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }) {
  const [year, month, day] = isoDate.slice(0, 10).split('-').map(Number);
  return new Intl.DateTimeFormat(LOCALES[current], { ...options, timeZone: 'UTC' }).format(
    new Date(Date.UTC(year, month - 1, day)),
  );
}

// A moment (ISO 8601) as a date in a time zone (the office's; Jakarta by default).
export function formatMomentDate(iso, timeZone = 'Asia/Jakarta') {
  return new Intl.DateTimeFormat(LOCALES[current], { day: 'numeric', month: 'long', year: 'numeric', timeZone }).format(
    new Date(iso),
  );
}

// A moment's time of day in a time zone: "08.00".
export function formatTime(iso, timeZone = 'Asia/Jakarta') {
  return new Intl.DateTimeFormat(LOCALES[current], { hour: '2-digit', minute: '2-digit', timeZone }).format(
    new Date(iso),
  );
}

// A gateway problem (RFC 9457) in the user's language: the catalogue's message for its code
// ("problem.<code>"), else the gateway's own detail in this language, else its title. Never a status code alone.
export function problemText(problem) {
  const code = problem.code || (problem.type || '').split('/').pop();
  const vars = {};
  if (problem.retry_after) vars.until = formatMomentDate(problem.retry_after);
  if (code && has(`problem.${code}`)) {
    const text = t(`problem.${code}`, vars);
    if (!text.includes('{')) return text; // a message naming a date the problem did not give falls through
  }
  const detail = current === 'id' ? problem.detail_id : problem.detail;
  return detail || problem.title || t('problem.unknown');
}
