//! The ops dashboard: one page, embedded, no build step. It calls the API with a token kept in
//! the browser's local storage; KPI charts are small SVGs drawn here on the server.

use axum::response::Html;
use std::fmt::Write as _;

/// `GET /`.
pub async fn page() -> Html<&'static str> {
    Html(PAGE)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn rate(v: &serde_json::Value) -> Option<f64> {
    v.as_str().and_then(|s| s.parse::<f64>().ok())
}

/// A bar chart of the rate KPIs (0..1) and of open exceptions by code.
pub fn kpi_svg(k: &serde_json::Value) -> String {
    let rates = [
        ("fill rate", rate(&k["fill_rate"])),
        ("perfect orders", rate(&k["perfect_order_rate"])),
        ("inventory accuracy", rate(&k["inventory_accuracy"])),
        ("split shipments", rate(&k["split_shipment_rate"])),
    ];
    let by_code: Vec<(String, u64)> = k["open_exceptions_by_code"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(c, n)| (c.clone(), n.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    let rows = rates.len() + by_code.len() + 2;
    let height = rows * 22 + 10;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" id="kpi-svg" width="520" height="{height}" viewBox="0 0 520 {height}" font-family="sans-serif" font-size="12">"##
    );
    let mut y = 16;
    let _ = write!(
        s,
        r##"<text x="0" y="{y}" font-weight="bold">Rates</text>"##
    );
    for (label, v) in rates {
        y += 22;
        let w = v
            .map(|v| (v.clamp(0.0, 1.0) * 300.0).round() as i64)
            .unwrap_or(0);
        let text = v
            .map(|v| format!("{:.1}%", v * 100.0))
            .unwrap_or_else(|| "n/a".into());
        let _ = write!(
            s,
            r##"<text x="0" y="{y}">{}</text><rect x="140" y="{}" width="{w}" height="14" fill="#3b82f6"/><text x="{}" y="{y}">{text}</text>"##,
            esc(label),
            y - 11,
            150 + w
        );
    }
    y += 22;
    let _ = write!(
        s,
        r##"<text x="0" y="{y}" font-weight="bold">Open exceptions</text>"##
    );
    let max = by_code.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    for (code, n) in &by_code {
        y += 22;
        let w = (*n as f64 / max as f64 * 300.0).round() as i64;
        let _ = write!(
            s,
            r##"<text x="0" y="{y}">{}</text><rect x="140" y="{}" width="{w}" height="14" fill="#ef4444"/><text x="{}" y="{y}">{n}</text>"##,
            esc(code),
            y - 11,
            150 + w
        );
    }
    s.push_str("</svg>");
    s
}

const PAGE: &str = r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stockpost hub</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f5f6f8;color:#111}
header{background:#1f2937;color:#fff;padding:8px 16px;display:flex;gap:12px;align-items:center}
header h1{font-size:18px;margin:0;flex:1}
main{display:grid;grid-template-columns:1fr 1fr;gap:12px;padding:12px}
section{background:#fff;border-radius:6px;padding:10px;box-shadow:0 1px 2px #0002;overflow:auto}
h2{font-size:15px;margin:0 0 8px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #e5e7eb;padding:3px 6px;text-align:left}
.on{color:#059669;font-weight:bold}.off{color:#dc2626;font-weight:bold}
#error{color:#dc2626;padding:0 16px}
</style></head>
<body>
<header><h1>Stockpost hub</h1>
<input id="token" type="password" placeholder="API token" size="30">
<button id="save-token">Use token</button></header>
<div id="error"></div>
<main>
<section><h2>Nodes</h2><table id="nodes"><thead><tr><th>node</th><th>online</th><th>last seen</th><th>applied</th><th>backlog</th><th>downlink</th><th>lag ms</th></tr></thead><tbody></tbody></table></section>
<section><h2>KPIs</h2><div id="kpi-chart"></div><div id="kpi-text"></div></section>
<section><h2>Stock</h2>
<form id="stock-form"><input name="node" placeholder="node"><input name="sku" placeholder="sku"><input name="location" placeholder="location"><button>Search</button></form>
<table id="stock"><thead><tr><th>node</th><th>location</th><th>sku</th><th>status</th><th>on hand</th><th>reserved</th><th>held</th><th>available</th></tr></thead><tbody></tbody></table></section>
<section><h2>Orders</h2><table id="orders"><thead><tr><th>ref</th><th>status</th><th>lines</th><th>allocations</th><th>ship by</th></tr></thead><tbody></tbody></table></section>
<section><h2>Exceptions</h2><table id="exceptions"><thead><tr><th>id</th><th>code</th><th>message</th><th></th></tr></thead><tbody></tbody></table></section>
<section><h2>Adjustments awaiting approval</h2><table id="adjustments"><thead><tr><th>id</th><th>node</th><th>sku</th><th>delta</th><th>value</th><th></th></tr></thead><tbody></tbody></table></section>
<section><h2>Over time (sampled by this page every 2 s)</h2><div id="live-charts"></div></section>
<section><h2>Quarantine</h2><div id="quarantine-text"></div><table id="quarantine"><thead><tr><th>id</th><th>node</th><th>seq</th><th>reason</th><th>bytes</th><th>count</th><th>last seen</th><th>first bytes</th><th>exception</th></tr></thead><tbody></tbody></table></section>
</main>
<script>
const $ = s => document.querySelector(s);
function token(){ return localStorage.getItem('stockpost-token') || ''; }
function esc(s){ return String(s ?? '').replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c])); }
async function api(path, opts={}){
  const r = await fetch('/api/v1' + path, {...opts, headers: {'Authorization': 'Bearer ' + token(), 'Content-Type': 'application/json'}});
  const text = await r.text();
  if (!r.ok) { let m = text; try { m = JSON.parse(text).error.message; } catch(e){} throw new Error(r.status + ': ' + m); }
  return path.endsWith('.svg') ? text : JSON.parse(text);
}
function rows(sel, list, f){ $(sel + ' tbody').innerHTML = list.map(f).join(''); }
async function loadNodes(){
  const d = await api('/nodes');
  rows('#nodes', d.nodes, n => `<tr data-node="${esc(n.node)}"><td>${esc(n.node)}</td><td class="${n.online?'on':'off'}">${n.online?'online':'offline'}</td><td>${esc(n.last_seen)}</td><td>${n.applied_seq}</td><td>${n.uplink_backlog}</td><td>${n.pending_downlink}</td><td>${n.lag_ms}</td></tr>`);
}
async function loadStock(){
  const q = new URLSearchParams(new FormData($('#stock-form'))).toString();
  const d = await api('/stock?' + q);
  rows('#stock', d.balances, b => `<tr><td>${esc(b.node)}</td><td>${esc(b.location ?? b.container)}</td><td>${esc(b.sku)}</td><td>${esc(b.status)}</td><td>${esc(b.on_hand)}</td><td>${esc(b.reserved)}</td><td>${esc(b.held)}</td><td>${esc(b.available)}</td></tr>`);
}
async function loadOrders(){
  const d = await api('/orders?limit=100');
  rows('#orders', d.orders, o => `<tr data-ref="${esc(o.ref)}"><td>${esc(o.ref)}</td><td class="status">${esc(o.status)}</td><td>${o.lines.map(l => esc(l.sku)+' '+esc(l.shipped)+'/'+esc(l.qty)).join(', ')}</td><td>${o.allocations.map(a => esc(a.node)).join(', ')}</td><td>${esc(o.ship_by)}</td></tr>`);
}
async function loadExceptions(){
  const d = await api('/exceptions?open=true');
  rows('#exceptions', d.exceptions, e => `<tr data-id="${e.id}"><td>${e.id}</td><td>${esc(e.code)}</td><td>${esc(e.message)}</td><td><button class="resolve" data-id="${e.id}">Resolve</button></td></tr>`);
}
async function loadAdjustments(){
  const d = await api('/adjustments');
  rows('#adjustments', d.adjustments.filter(a => a.status === 'pending_approval'), a => `<tr><td>${a.id}</td><td>${esc(a.node)}</td><td>${esc(a.sku)}</td><td>${esc(a.delta)}</td><td>${esc(a.value)}</td><td><button class="approve" data-id="${a.id}">Approve</button></td></tr>`);
}
async function loadQuarantine(){
  const d = await api('/quarantine');
  $('#quarantine-text').textContent = `${d.received} received, ${d.dropped} dropped to stay within the caps`;
  rows('#quarantine', d.quarantine, q => `<tr data-id="${q.id}"><td>${q.id}</td><td>${esc(q.node)}</td><td>${esc(q.seq)}</td><td>${esc(q.reason)}</td><td>${q.bytes}</td><td>${q.count}</td><td>${esc(q.last_seen)}</td><td><code>${esc(q.head_text.slice(0, 48))}</code></td><td>${esc(q.exception)}</td></tr>`);
}
async function loadKpis(){
  $('#kpi-chart').innerHTML = await api('/kpis/chart.svg');
  const k = await api('/kpis');
  $('#kpi-text').textContent = `closed orders ${k.closed_orders}, shipped orders ${k.shipped_orders}`;
}
async function refresh(){
  if (!token()) { $('#error').textContent = 'Enter an API token to see the hub.'; return; }
  try { await Promise.all([loadNodes(), loadStock(), loadOrders(), loadExceptions(), loadAdjustments(), loadQuarantine(), loadKpis()]); $('#error').textContent = ''; document.body.dataset.loaded = 'true'; }
  catch(e){ $('#error').textContent = e.message; }
}
$('#save-token').onclick = () => { localStorage.setItem('stockpost-token', $('#token').value); refresh(); };
$('#stock-form').onsubmit = ev => { ev.preventDefault(); loadStock().catch(e => $('#error').textContent = e.message); };
document.addEventListener('click', async ev => {
  const t = ev.target;
  try {
    if (t.classList.contains('resolve')) { await api(`/exceptions/${t.dataset.id}/resolve`, {method:'POST', body: JSON.stringify({note: 'resolved from the dashboard'})}); await loadExceptions(); await loadKpis(); }
    if (t.classList.contains('approve')) { await api(`/adjustments/${t.dataset.id}/approve`, {method:'POST'}); await loadAdjustments(); await loadExceptions(); }
  } catch(e){ $('#error').textContent = e.message; }
});
// Throughput, backlog per node (as the hub knows it: reported − applied) and open exceptions
// over time, kept in this page only (the last 300 samples); a gap is a sample the hub did not answer.
const live = [], COLOURS = ['#2563eb','#dc2626','#059669','#d97706','#7c3aed','#0891b2','#db2777','#4b5563'];
function liveChart(id, unit, series){
  const W = 520, H = 150, L = 40, R = 110, T = 8, B = 20, pw = W - L - R, ph = H - T - B;
  const t0 = live.length ? live[0].t : 0, t1 = live.length ? live[live.length - 1].t : 1;
  const vmax = Math.max(1, ...series.flatMap(s => s.pts.filter(p => p[1] != null).map(p => p[1])));
  const x = t => L + (t - t0) / Math.max(1, t1 - t0) * pw, y = v => T + ph - v / vmax * ph;
  let out = `<svg xmlns="http://www.w3.org/2000/svg" id="${id}" width="${W}" height="${H}" font-family="sans-serif" font-size="11"><rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="#f9fafb" stroke="#d1d5db"/><text x="${L-4}" y="${T+10}" text-anchor="end">${Math.round(vmax)}</text><text x="${L-4}" y="${T+ph}" text-anchor="end">0</text><text x="${L}" y="${H-4}">${esc(unit)}, last ${Math.round((t1-t0)/1000)} s</text>`;
  series.forEach((s, i) => {
    let run = [];
    const flush = () => { if (run.length) out += `<polyline fill="none" stroke="${s.colour}" stroke-width="1.6" points="${run.join(' ')}"/>`; run = []; };
    s.pts.forEach(([t, v]) => { if (v == null) flush(); else run.push(x(t).toFixed(1) + ',' + y(v).toFixed(1)); });
    flush();
    out += `<rect x="${W-R+8}" y="${T+6+14*i}" width="10" height="4" fill="${s.colour}"/><text x="${W-R+22}" y="${T+11+14*i}">${esc(s.name)}</text>`;
  });
  return out + '</svg>';
}
function drawLive(){
  const rate = live.map((s, i) => { const p = live[i - 1]; return [s.t, p && p.applied != null && s.applied != null ? (s.applied - p.applied) / Math.max(0.001, (s.t - p.t) / 1000) : null]; });
  const nodes = [...new Set(live.flatMap(s => Object.keys(s.backlog || {})))].sort();
  const codes = [...new Set(live.flatMap(s => Object.keys(s.ex || {})))].sort();
  $('#live-charts').innerHTML =
    liveChart('live-throughput', 'events/s applied', [{name: 'events/s', colour: COLOURS[0], pts: rate}]) +
    liveChart('live-backlog', 'uplink backlog', nodes.map((n, i) => ({name: n, colour: COLOURS[i % 8], pts: live.map(s => [s.t, s.backlog ? (s.backlog[n] ?? null) : null])}))) +
    liveChart('live-exceptions', 'open exceptions', codes.map((c, i) => ({name: c, colour: COLOURS[(i + 1) % 8], pts: live.map(s => [s.t, s.ex ? (s.ex[c] ?? 0) : null])})));
}
async function sampleLive(){
  if (!token()) return;
  let s = {t: Date.now(), applied: null, backlog: null, ex: null};
  try {
    const [n, k] = await Promise.all([api('/nodes'), api('/kpis')]);
    s = {t: s.t, applied: n.nodes.reduce((a, x) => a + x.applied_seq, 0), backlog: Object.fromEntries(n.nodes.map(x => [x.node, x.uplink_backlog])), ex: k.open_exceptions_by_code || {}};
  } catch(e){}
  live.push(s); if (live.length > 300) live.shift();
  try { drawLive(); } catch(e){ $('#live-charts').textContent = 'chart: ' + e.message; }
}
refresh(); setInterval(refresh, 5000); sampleLive(); setInterval(sampleLive, 2000);
</script></body></html>
"##;
