// Signing in: the access token lives in memory only (never localStorage, so a script
// injected into the page cannot read a long-lived secret); the refresh token is an HttpOnly
// cookie the page never sees. A reload or an expired access token refreshes through it.

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let accessToken = null;
let currentUser = null;
let refreshing = null;

export const session = {
  get user() { return currentUser; },
  get signedIn() { return accessToken !== null; },
  get authorization() { return accessToken ? `Bearer ${accessToken}` : null; },
};

function remember(body) {
  accessToken = body.access_token;
  currentUser = body.user;
  return body;
}

async function parse(response) {
  if (response.status === 204) return null;
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(response.status, body.error?.message || `The server answered HTTP ${response.status}.`,
      body.error?.code);
  }
  return body;
}

async function post(path, payload) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload ?? {}),
    });
  } catch {
    throw new ApiError(0, "The Parley server cannot be reached. Check that it is running.");
  }
  return parse(response);
}

export async function signIn(email, password) {
  return remember(await post("/api/auth/login", { email, password }));
}

// One refresh at a time: parallel 401s share it (the cookie rotates on every use).
export async function refresh() {
  refreshing ??= post("/api/auth/refresh").then(remember).finally(() => { refreshing = null; });
  return refreshing;
}

export async function changePassword(current, next) {
  return remember(await api("/api/auth/password", { method: "POST", json: { current_password: current, new_password: next } }));
}

export async function signOut() {
  await post("/api/auth/logout").catch(() => {});
  accessToken = null;
  currentUser = null;
}

// fetch() for the API: JSON in and out, the bearer token, and one refresh on a 401.
export async function api(path, { method = "GET", json, body, raw = false } = {}) {
  const send = () => {
    const headers = { Authorization: `Bearer ${accessToken}` };
    if (json !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, { method, headers, body: json !== undefined ? JSON.stringify(json) : body, credentials: "same-origin" });
  };
  let response;
  try {
    response = await send();
    if (response.status === 401 && accessToken) {
      await refresh();
      response = await send();
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(0, "The Parley server cannot be reached. Check that it is running.");
  }
  return raw ? response : parse(response);
}
