// The station screen: renders the station state, submits scans, follows live updates.
// A keyboard-wedge scanner types into the always-focused input and ends with Enter.
(function () {
  "use strict";
  const station = document.body.dataset.station;
  const base = "/api/v1/stations/" + encodeURIComponent(station);
  const $ = (id) => document.getElementById(id);
  const input = $("scan");
  let sending = Promise.resolve();
  // The station's token, when the agent asks for one: entered once, kept by this device.
  const tokenKey = "stockpost-station-token:" + station;
  let token = "";
  try { token = window.localStorage.getItem(tokenKey) || ""; } catch (_) { /* no storage */ }
  let stream = null;

  function headers(extra) {
    const h = Object.assign({}, extra || {});
    if (token) h.authorization = "Bearer " + token;
    return h;
  }

  function pairing() { return !$("pair-form").hidden; }

  function askForToken(message) {
    $("scan-form").hidden = true;
    $("pair-form").hidden = false;
    text($("prompt"), message);
    $("pair-token").focus();
  }

  $("pair-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    token = $("pair-token").value.trim();
    $("pair-token").value = "";
    if (!token) return;
    try { window.localStorage.setItem(tokenKey, token); } catch (_) { /* kept for this page only */ }
    $("pair-form").hidden = true;
    $("scan-form").hidden = false;
    input.focus();
    start();
  });

  // 401/403: this device is not (or no longer) paired with the station.
  function refusedToken(r) {
    if (r.status !== 401 && r.status !== 403) return false;
    askForToken(r.status === 401
      ? "This device is not paired with the station: enter its token."
      : "That token is not this station's: enter this station's token.");
    return true;
  }

  function text(el, s) { el.textContent = s == null ? "" : String(s); }

  function beep() {
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      const ctx = new Ctx();
      const o = ctx.createOscillator();
      o.frequency.value = 220; o.type = "square";
      o.connect(ctx.destination); o.start();
      o.stop(ctx.currentTime + 0.25);
    } catch (_) { /* sound is optional */ }
  }

  function render(state) {
    if (!state) return;
    text($("operator"), state.operator ? "Operator " + state.operator : "signed out");
    const t = state.task;
    text($("task"), t ? (t.kind + " " + (t.ref || t.id)) : "No task");
    text($("prompt"), state.prompt);
    const dl = $("expect");
    dl.replaceChildren();
    const e = state.expect || {};
    for (const key of ["scan", "location", "sku", "gtin", "qty", "done"]) {
      if (e[key] == null) continue;
      const dt = document.createElement("dt"); text(dt, key);
      const dd = document.createElement("dd"); dd.id = "expect-" + key; text(dd, e[key]);
      dl.append(dt, dd);
    }
    showError(state.last_error);
  }

  function showError(err) {
    const box = $("error");
    if (err) {
      text($("error-code"), err.code);
      text($("error-message"), err.message);
      box.hidden = false;
      document.body.classList.add("has-error");
    } else {
      box.hidden = true;
      document.body.classList.remove("has-error");
    }
  }

  async function send(data) {
    try {
      const r = await fetch(base + "/scan", {
        method: "POST",
        headers: headers({ "content-type": "application/json" }),
        body: JSON.stringify({ data: data }),
      });
      if (refusedToken(r)) { text($("last"), data + ": not recorded"); return; }
      const body = await r.json().catch(() => null);
      if (!r.ok) {
        const err = (body && body.error) || { code: "http_" + r.status, message: "The agent refused the request" };
        showError(err); beep();
        text($("last"), data + ": not recorded");
        return;
      }
      render(body.station);
      if (!body.accepted) {
        showError(body.error); beep();
        text($("last"), data + ": refused");
      } else {
        text($("last"), data + (body.duplicate ? ": double scan ignored" : ": OK"));
      }
    } catch (e) {
      showError({ code: "offline", message: "The agent does not answer: scan again when it is back" });
      beep();
    }
  }

  $("scan-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const data = input.value;
    input.value = "";
    if (data.length === 0) return;
    // Keep scans in order even when the operator scans faster than the agent answers.
    sending = sending.then(() => send(data));
  });

  // Always keep the input focused for the scanner (but not while pairing).
  input.addEventListener("blur", () => setTimeout(() => { if (!pairing()) input.focus(); }, 0));
  document.addEventListener("click", () => { if (!pairing()) input.focus(); });
  input.focus();

  function follow() {
    if (stream) stream.close();
    const q = token ? "?token=" + encodeURIComponent(token) : "";
    const es = new EventSource(base + "/events" + q);
    stream = es;
    es.addEventListener("state", (ev) => {
      try { render(JSON.parse(ev.data)); } catch (_) { /* ignore a bad frame */ }
    });
    es.onopen = () => { $("live").className = "on"; };
    es.onerror = () => { $("live").className = "off"; };
  }

  function start() {
    fetch(base, { headers: headers() })
      .then((r) => {
        if (refusedToken(r)) return null;
        if (window.EventSource) follow();
        return r.json();
      })
      .then(render)
      .catch(() => {});
  }

  start();
})();
