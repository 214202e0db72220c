// Calls to the gateway's API on this origin: the signed-in token, this device's id, and problems as errors.
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

// This browser's device id: an account is bound to one device (X-Device-Id), so it never changes.
export function deviceId() {
  let id = localStorage.getItem('paspor.device');
  if (!id) {
    id = `web-${crypto.randomUUID()}`;
    localStorage.setItem('paspor.device', id);
  }
  return id;
}

// The full answer (status, headers, body) of a call; throws a Problem for any refusal or no connection.
export async function request(session, path, { method = 'GET', body, headers = {}, signal } = {}) {
  const sent = { Accept: 'application/json', ...headers };
  if (session && session.token) sent.Authorization = `Bearer ${session.token}`;
  if (session) sent['X-Device-Id'] = deviceId();
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
  let response;
  try {
    response = await fetch(path, { headers: { Authorization: `Bearer ${session.token}` } });
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
  return call(null, '/v1/config');
}
