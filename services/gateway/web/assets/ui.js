// Small DOM helpers every page shares: building elements, showing a problem or a notice, the language switch.

import { language, problemText, setLanguage, t } from './i18n.js';

// h('button', {class: 'secondary', onclick: go}, 'text', child) -> an element. Text is always text, never HTML.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

// A region that says what went wrong (role=alert: read out at once), in the user's language.
export function problemBox(problem) {
  const body = problem && problem.body ? problem.body : problem;
  const box = h('div', { class: 'problem', role: 'alert', dataset: { code: body.code || '' } }, problemText(body));
  if (Array.isArray(body.errors) && body.errors.length) {
    box.append(h('ul', {}, body.errors.map((e) => h('li', {}, `${e.loc.slice(1).join('.')}: ${e.msg}`))));
  }
  return box;
}

// A region that says what went well (role=status: read out politely).
export function noticeBox(text) {
  return h('div', { class: 'notice', role: 'status' }, text);
}

// The button that switches between Bahasa Indonesia and English (labelled in the other language).
export function languageButton() {
  const button = h('button', { type: 'button', class: 'lang', id: 'language' });
  const label = () => {
    const other = language() === 'id' ? 'en' : 'id';
    button.textContent = other === 'en' ? 'English' : 'Bahasa Indonesia';
    button.setAttribute('lang', other);
    button.setAttribute('aria-label', t('common.language.switch'));
  };
  button.addEventListener('click', () => setLanguage(language() === 'id' ? 'en' : 'id'));
  window.addEventListener('languagechange', label);
  label();
  return button;
}

// Replace the page's main content and move the focus to its heading (for screen readers and keyboards).
export function show(main, ...children) {
  main.replaceChildren(...children);
  const heading = main.querySelector('h2');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: false });
  }
}

// Run `work` while `button` shows it is busy; a second tap does nothing meanwhile.
export async function busy(button, work) {
  if (button.disabled) return undefined;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}
