// What both classroom pages share: the token taken from the address, DOM
// building, and API calls with the token.
"use strict";
/// The token given as ?token= (then kept in `store` and taken out of the
/// address bar), else the one kept from before.
function takeToken(store, key) {
  const given = new URLSearchParams(location.search).get("token");
  if (given) {
    store.setItem(key, given);
    history.replaceState(null, "", location.pathname);
  }
  return store.getItem(key) || "";
}
const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
};
/// An API call with the token; the classroom's {"error", "fix"} as an Error.
async function apiCall(token, path, opts = {}) {
  const r = await fetch(path, { ...opts, headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((body.error || ("HTTP " + r.status)) + (body.fix ? " — " + body.fix : ""));
  return body;
}
