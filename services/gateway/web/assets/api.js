// Calls to the gateway's API on this origin: the signed-in token, this device's proof (DPoP), and problems as errors.
//
// const session = new Session('citizen');   // each area keeps its own sign-in (citizen, officer, operator)
// const me = await call(session, '/v1/me');  // the JSON body; a refusal throws a Problem

export class Problem extends Error {
  // A refusal as the gateway states it (RFC 9457 problem details: code, detail, detail_id, ...).
  constructor(body, status) {
    super(body.detail || body.title || body.code);
    this.body = body;
    this.status = status;
  }

  get code() {
    return this.body.code;
  }
}

const OFFLINE = {
  code: 'offline',
  title: 'offline',
  detail: 'No connection to the server.',
  detail_id: 'Tidak ada koneksi ke server.',
};

export class Session {
  // One area's sign-in, kept in this browser (a ticket must open offline, so not only in memory).
  constructor(area) {
    this.key = `paspor.${area}.token`;
  }

  get token() {
    return localStorage.getItem(this.key);
  }

  set token(value) {
    if (value) localStorage.setItem(this.key, value);
    else localStorage.removeItem(this.key);
  }

  // The token's claims (not verified here: the gateway verifies it on every call).
  get claims() {
    const token = this.token;
    if (!token) return null;
    try {
      const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(decodeURIComponent(escape(atob(part))));
    } catch {
      return null;
    }
  }
}

// This browser's device: an ECDSA P-256 key pair made here once and kept in IndexedDB, its private half
// never extractable. Each call carries a DPoP proof (RFC 9449) signed with it, and the gateway knows the
// device by the key's thumbprint (RFC 7638): a device id learned by someone else opens nothing.
const KEYS = { db: 'paspor-device', store: 'keys', name: 'device' };
let device = null; // the promise of { privateKey, jwk, thumbprint }
let clockSkew = 0; // milliseconds the system's clock is ahead of this browser's (from /v1/config)

function stored(run) {
  // The key store, in one transaction: run(store) gives a request whose result is the answer.
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open(KEYS.db, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(KEYS.store);
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
      const db = opening.result;
      const tx = db.transaction(KEYS.store, 'readwrite');
      let answer;
      tx.oncomplete = () => {
        db.close();
        resolve(answer);
      };
      tx.onerror = () => reject(tx.error);
      run(tx.objectStore(KEYS.store), (value) => (answer = value));
    };
  });
}

async function keptPair() {
  // The pair kept in this browser; a new one (kept at once) the first time. Made before the transaction
  // opens, so that two tabs starting together keep one pair, the first one stored.
  const made = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  try {
    return await stored((keys, answer) => {
      const looking = keys.get(KEYS.name);
      looking.onsuccess = () => {
        if (looking.result) return answer(looking.result);
        keys.put(made, KEYS.name);
        answer(made);
      };
    });
  } catch {
    return made; // no IndexedDB (some private windows): this page's own key, until it closes
  }
}

async function loadDevice() {
  const pair = await keptPair();
  const { x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
  const jwk = { kty: 'EC', crv: 'P-256', x, y };
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x, y });
  const thumbprint = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical)));
  return { privateKey: pair.privateKey, jwk, thumbprint };
}

function thisDevice() {
  if (!device) device = loadDevice().catch((error) => ((device = null), Promise.reject(error)));
  return device;
}

function b64url(bytes) {
  const text = String.fromCharCode(...new Uint8Array(bytes));
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function b64json(value) {
  return b64url(new TextEncoder().encode(JSON.stringify(value)));
}

// This browser's device id: its key's thumbprint (an account is bound to one device).
export async function deviceId() {
  return (await thisDevice()).thumbprint;
}

// The DPoP proof of one call: its method and URL (without the query), now by the system's clock, this token.
export async function proof(method, path, token) {
  const { privateKey, jwk } = await thisDevice();
  const url = new URL(path, location.href);
  const claims = {
    htm: method,
    htu: url.origin + url.pathname,
    iat: Math.floor((Date.now() + clockSkew) / 1000),
    jti: crypto.randomUUID(),
  };
  if (token) claims.ath = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token)));
  const signed = `${b64json({ typ: 'dpop+jwt', alg: 'ES256', jwk })}.${b64json(claims)}`;
  const signature = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' }, // WebCrypto signs as r||s, the form ES256 wants
    privateKey,
    new TextEncoder().encode(signed),
  );
  return `${signed}.${b64url(signature)}`;
}

async function signedHeaders(session, method, path) {
  // A signed-in call: the token, and the device's proof for this very call (sent as X-Device-Id too, for a
  // gateway that an operator set to name devices by that header).
  if (!session || !session.token) return {};
  return {
    Authorization: `Bearer ${session.token}`,
    DPoP: await proof(method, path, session.token),
    'X-Device-Id': await deviceId(),
  };
}

// The full answer (status, headers, body) of a call; throws a Problem for any refusal or no connection.
export async function request(session, path, { method = 'GET', body, headers = {}, signal } = {}) {
  const sent = { Accept: 'application/json', ...headers, ...(await signedHeaders(session, method, path)) };
  if (body !== undefined) sent['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new Problem(OFFLINE, 0);
  }
  const type = response.headers.get('Content-Type') || '';
  const answer = type.includes('json') ? await response.json() : null;
  if (!response.ok) {
    const problem = answer && answer.code ? answer : { code: `status_${response.status}`, title: response.statusText };
    throw new Problem(problem, response.status);
  }
  return { status: response.status, headers: response.headers, body: answer };
}

// The JSON body of a call.
export async function call(session, path, options) {
  return (await request(session, path, options)).body;
}

// A binary or text resource that needs the token (e.g. the ticket's QR image), as a Blob.
export async function blob(session, path) {
  const headers = await signedHeaders(session, 'GET', path);
  let response;
  try {
    response = await fetch(path, { headers });
  } catch {
    throw new Problem(OFFLINE, 0);
  }
  if (!response.ok) {
    const type = response.headers.get('Content-Type') || '';
    throw new Problem(type.includes('json') ? await response.json() : { code: `status_${response.status}` }, response.status);
  }
  return response.blob();
}

// The frontends' settings: sign-in options, today's date (the system's clock) and the rulebook's numbers.
export async function config() {
  const answer = await call(null, '/v1/config');
  if (answer && answer.now) clockSkew = Date.parse(answer.now) - Date.now(); // proofs are dated by the system's clock
  return answer;
}
