// Sign-in with an OpenID provider (implicit flow): off to the provider, and back with an ID token in the fragment.
//
// toProvider(provider, key, path)       sends the browser to the provider; it comes back to `path`
// fromProvider(session, key, landing)   back from it: keeps the token if its state and nonce are the ones sent

export function toProvider(provider, key, path) {
  const state = crypto.randomUUID();
  const nonce = crypto.randomUUID();
  sessionStorage.setItem(key, JSON.stringify({ state, nonce }));
  const url = new URL(provider.authorize_url);
  url.search = new URLSearchParams({
    client_id: provider.client_id,
    response_type: 'id_token',
    scope: 'openid email profile',
    redirect_uri: `${location.origin}${path}`,
    state,
    nonce,
  }).toString();
  location.assign(url.toString());
}

export function fromProvider(session, key, landing) {
  const answer = new URLSearchParams(location.hash.slice(1));
  if (!answer.has('id_token')) return;
  const sent = JSON.parse(sessionStorage.getItem(key) || '{}');
  sessionStorage.removeItem(key);
  history.replaceState(null, '', landing);
  if (!sent.state || answer.get('state') !== sent.state) return;
  session.token = answer.get('id_token');
  if ((session.claims || {}).nonce !== sent.nonce) session.token = null;
}
