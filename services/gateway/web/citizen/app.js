// The citizen app: boots the catalogue, the language switch and the service worker, then routes by the URL's hash.

import { config, Session } from '../assets/api.js';
import { loadCatalogue } from '../assets/i18n.js';
import { languageButton } from '../assets/ui.js';

const session = new Session('citizen');

async function boot() {
  await loadCatalogue('citizen');
  document.getElementById('language-slot').replaceChildren(languageButton());
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js', { scope: '/' });
  return { session, config: await config() };
}

boot();
