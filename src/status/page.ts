/**
 * The status page itself: one HTML document and one script (no inline script, so the page runs under
 * a strict Content-Security-Policy), drawing with uPlot. Kept as strings so that the build ships them
 * in dist/ with nothing to copy. The script polls /api/status every 2 s (after the first, only the history
 * points it does not have: ?since=; with the watched key's chart: watchType=&watchId=), and, while
 * the search box holds a name, long-polls /api/keys: answered when a matching key arrives, else every
 * SEARCH_REFRESH_MS with fresh values (see ./waits.ts).
 */
import { MAX_SEARCH_WAIT_MS } from './waits.js';

/** How often the search results' values are refreshed when no matching key arrives, ms (the long poll's wait). */
export const SEARCH_REFRESH_MS = 2000;
/** Least time between two searches of a page, ms (a stream of matching new keys answers at most this often). */
export const SEARCH_MIN_GAP_MS = 200;
if (SEARCH_REFRESH_MS > MAX_SEARCH_WAIT_MS) throw new Error('SEARCH_REFRESH_MS above MAX_SEARCH_WAIT_MS');

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tallyd status</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="assets/uPlot.min.css">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5em 2em; color: #222; background: #fafafa; }
  h1 { font-size: 1.3em; margin: .8em 0 .2em; } h2 { font-size: 1.05em; margin: 1.2em 0 .4em; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 1em; }
  .card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .6em .9em; overflow: auto; }
  .figures { display: flex; flex-wrap: wrap; gap: 1.4em; }
  .figure b { display: block; font-size: 1.3em; }
  table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: 2px 8px 2px 0; vertical-align: top; }
  th { font-weight: 600; color: #555; } code, .mono { font-family: ui-monospace, monospace; font-size: 12.5px; word-break: break-all; }
  input[type=search] { width: 100%; font-size: 1.05em; padding: .35em; box-sizing: border-box; }
  .warn { color: #b45309; } .bad { color: #b91c1c; } .ok { color: #15803d; } .muted { color: #777; }
  tr.pick { cursor: pointer; } tr.pick:hover { background: #f0f4ff; }
</style>
</head>
<body>
<h1>tallyd <span class="muted" id="updated"></span></h1>
<div class="figures card" id="figures"></div>
<div class="grid">
  <div class="card"><h2>Ingest (lines/s, packets/s)</h2><div id="chart-ingest" class="chart"></div></div>
  <div class="card"><h2>Flush (ms, stats)</h2><div id="chart-flush" class="chart"></div></div>
  <div class="card"><h2>Keys (live, new per interval)</h2><div id="chart-keys" class="chart"></div></div>
  <div class="card"><h2>Backends</h2><div id="backends"></div></div>
</div>
<h2>Is my metric arriving?</h2>
<div class="card">
  <input type="search" id="search" placeholder="a metric name or part of one, e.g. api.requests" autocomplete="off">
  <table id="results"><thead><tr><th>type</th><th>key</th><th>this interval</th><th>rate/s</th><th>Graphite</th><th>Prometheus</th></tr></thead><tbody></tbody></table>
  <div id="key-chart-title" class="muted"></div><div id="chart-key" class="chart"></div>
</div>
<div class="grid">
  <div class="card"><h2>Busiest keys, last interval (lines)</h2><div id="top-note" class="muted"></div><table id="top"><tbody></tbody></table></div>
  <div class="card"><h2>Bad lines</h2><table id="bad"><tbody></tbody></table><h2>Last bad lines</h2><table id="recent"><tbody></tbody></table></div>
</div>
<script src="assets/uPlot.iife.min.js"></script>
<script src="assets/status.js"></script>
</body>
</html>
`;

export const PAGE_SCRIPT = `'use strict';
(function () {
  var token = new URLSearchParams(location.search).get('token');
  var headers = token ? { Authorization: 'Bearer ' + token } : {};
  var charts = {};
  var watched = null;
  var hist = null, lastT = null;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function row(cells, cls) {
    var tr = el('tr', null, cls);
    cells.forEach(function (c) {
      var td = el('td');
      if (c instanceof Node) td.appendChild(c); else td.textContent = String(c);
      tr.appendChild(td);
    });
    return tr;
  }
  function fill(tbody, rows) {
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    rows.forEach(function (r) { tbody.appendChild(r); });
  }
  function fmt(n) {
    if (n === null || n === undefined) return 'n/a';
    if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(2) + 'M';
    if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(1) + 'k';
    return Math.round(n * 100) / 100 + '';
  }
  function api(path, signal) {
    return fetch(path, { headers: headers, cache: 'no-store', signal: signal }).then(function (r) {
      if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
      return r.json();
    });
  }
  function chart(id, series, data) {
    var box = document.getElementById(id);
    var width = Math.max(300, box.clientWidth || 400);
    if (!charts[id]) {
      var opts = {
        width: width, height: 180,
        scales: { x: { time: true } },
        series: [{}].concat(series.map(function (s) {
          return { label: s.label, stroke: s.stroke, width: 1.5, scale: s.scale || 'y', points: { show: false } };
        })),
        axes: [{}, { scale: 'y' }].concat(series.some(function (s) { return s.scale === 'y2'; }) ? [{ scale: 'y2', side: 1, grid: { show: false } }] : []),
      };
      charts[id] = new uPlot(opts, data, box);
    } else {
      charts[id].setData(data);
    }
  }
  function secs(ts) { return ts.map(function (t) { return t / 1000; }); }

  function render(s) {
    document.getElementById('updated').textContent = 'updated ' + new Date(s.now).toLocaleTimeString() + (s.viewing ? '' : '');
    var f = document.getElementById('figures');
    while (f.firstChild) f.removeChild(f.firstChild);
    var bad = s.badLines.byReason.reduce(function (a, b) { return a + b.count; }, 0);
    var figs = [
      ['lines/s', fmt(s.ingest.linesPerSec)], ['packets/s', fmt(s.ingest.packetsPerSec)],
      ['lines', fmt(s.ingest.lines)], ['bad lines', fmt(bad)],
      ['kernel UDP drops', s.ingest.udpReceiveErrors === null ? 'n/a' : fmt(s.ingest.udpReceiveErrors)],
      ['keys', fmt(s.keys.total) + ' / ' + fmt(s.keys.maxKeys) + ' (' + (100 * s.keys.total / s.keys.maxKeys).toFixed(1) + ' %)'],
      ['counters · timers · gauges · sets', s.keys.counters + ' · ' + s.keys.timers + ' · ' + s.keys.gauges + ' · ' + s.keys.sets],
      ['last flush', fmt(s.flush.lastMs) + ' ms'],
    ];
    if (s.ingest.linesPerSecByType) {
      var b = s.ingest.linesPerSecByType;
      figs.push(['lines/s by type (c · ms · g · s)', fmt(b.counters) + ' · ' + fmt(b.timers) + ' · ' + fmt(b.gauges) + ' · ' + fmt(b.sets)]);
    }
    figs.forEach(function (x) {
      var d = el('div', null, 'figure');
      d.appendChild(el('b', x[1]));
      d.appendChild(el('span', x[0], 'muted'));
      f.appendChild(d);
    });
    var h = s.history, t = secs(h.t);
    chart('chart-ingest', [{ label: 'lines/s', stroke: '#2563eb' }, { label: 'packets/s', stroke: '#16a34a' }, { label: 'bad lines/s', stroke: '#dc2626' }],
      [t, h.linesPerSec, h.packetsPerSec, h.badLinesPerSec]);
    chart('chart-flush', [{ label: 'flush ms', stroke: '#9333ea' }, { label: 'stats', stroke: '#ea580c', scale: 'y2' }], [t, h.flushMs, h.numStats]);
    chart('chart-keys', [{ label: 'live keys', stroke: '#0891b2' }, { label: 'new keys', stroke: '#ca8a04', scale: 'y2' }], [t, h.liveKeys, h.newKeys]);

    var bk = document.getElementById('backends');
    while (bk.firstChild) bk.removeChild(bk.firstChild);
    s.backends.forEach(function (be) {
      bk.appendChild(el('h2', be.name));
      var st = be.state;
      if (st) {
        var p = el('p');
        p.appendChild(el('span', st.connected === null ? 'not tried yet' : st.connected ? 'connected' : 'unreachable',
          st.connected === false ? 'bad' : st.connected ? 'ok' : 'muted'));
        if (st.replaying) p.appendChild(el('span', ' · replaying queued flushes', 'warn'));
        if (st.lastError) p.appendChild(el('span', ' · last error ' + new Date(st.lastErrorAt).toLocaleTimeString() + ': ' + st.lastError, 'muted'));
        bk.appendChild(p);
      }
      var tb = el('table'); var body = el('tbody'); tb.appendChild(body);
      fill(body, be.lines.map(function (l) {
        var cls = /dropped|exception|error/.test(l.stat) && l.value !== '0' ? 'warn' : '';
        return row([l.stat, l.value], cls);
      }));
      bk.appendChild(tb);
    });
    fill(document.querySelector('#top tbody'), s.topKeys.length
      ? s.topKeys.map(function (k) { return row([k.type, el('code', k.id), fmt(k.lines)]); })
      : [row([el('span', 'counted while this page is open; shown from the next flush', 'muted')])]);
    document.getElementById('top-note').textContent = s.topKeysSampledMs > 0
      ? 'estimated from the lines of the last ' + fmt(s.topKeysSampledMs) + ' ms of the interval' : '';
    fill(document.querySelector('#bad tbody'), s.badLines.byReason.filter(function (r) { return r.count > 0; })
      .map(function (r) { return row([r.reason, fmt(r.count)], 'bad'); }));
    fill(document.querySelector('#recent tbody'), s.badLines.recent.map(function (r) {
      return row([new Date(r.at).toLocaleTimeString(), r.reason, el('code', r.line)]);
    }));
  }

  function renderResults(res) {
    fill(document.querySelector('#results tbody'), res.keys.map(function (k) {
      var g = el('div'); k.graphite.forEach(function (n) { g.appendChild(el('code', n)); g.appendChild(el('br')); });
      var r = row([k.type, el('code', k.id), fmt(k.value), k.ratePerSec === null ? '' : fmt(k.ratePerSec), g, el('code', k.prometheus)], 'pick');
      r.dataset.type = k.type; r.dataset.id = k.id;
      r.addEventListener('click', function () { watched = { type: k.type, id: k.id }; pollKey(); });
      return r;
    }));
  }

  // the history is kept here: after the first answer only the points after the last one are asked for
  function mergeHistory(s) {
    var h = s.history;
    if (hist === null) hist = h;
    else Object.keys(hist).forEach(function (f) {
      var a = hist[f].concat(h[f] || []);
      hist[f] = a.length > s.historyCap ? a.slice(a.length - s.historyCap) : a;
    });
    if (hist.t.length > 0) lastT = hist.t[hist.t.length - 1];
    s.history = hist;
    return s;
  }
  function pollStatus() {
    var w = watched ? '&watchType=' + watched.type + '&watchId=' + encodeURIComponent(watched.id) : '';
    api('api/status?since=' + (lastT === null ? '' : lastT) + w).then(function (s) {
      render(mergeHistory(s));
      if (s.watched && watched && s.watched.type === watched.type && s.watched.id === watched.id) drawKey(s.watched);
    }).catch(function (e) { document.getElementById('updated').textContent = String(e.message); });
  }
  // the search: a long poll, answered as soon as a matching key arrives (else every ${SEARCH_REFRESH_MS} ms, with fresh values)
  var searchTimer = null, searchSeq = 0, searchAbort = null, cursor = null;
  function pollSearch() {
    clearTimeout(searchTimer);
    var seq = ++searchSeq;
    var q = document.getElementById('search').value.trim();
    if (q === '') { renderResults({ keys: [] }); return; }
    var ctl = new AbortController();
    searchAbort = ctl;
    var path = 'api/keys?q=' + encodeURIComponent(q) + (cursor === null ? '' : '&after=' + cursor + '&wait=${SEARCH_REFRESH_MS}');
    api(path, ctl.signal).then(function (res) {
      if (seq !== searchSeq) return;
      renderResults(res);
      cursor = res.cursor;
      searchTimer = setTimeout(pollSearch, ${SEARCH_MIN_GAP_MS});
    }).catch(function () {
      if (seq === searchSeq) searchTimer = setTimeout(pollSearch, ${SEARCH_REFRESH_MS});
    });
  }
  function drawKey(k) {
    document.getElementById('key-chart-title').textContent = k.type + ' ' + k.id + ': flushed values (kept from the first look on)';
    if (charts['chart-key'] && charts['chart-key']._id !== k.type + k.id) { charts['chart-key'].destroy(); delete charts['chart-key']; }
    chart('chart-key', [{ label: k.id, stroke: '#2563eb' }], [secs(k.t), k.v]);
    charts['chart-key']._id = k.type + k.id;
  }
  // a key picked from the results: its chart at once, then with each /api/status (watchType=&watchId=)
  function pollKey() {
    if (!watched) return;
    api('api/key?type=' + watched.type + '&id=' + encodeURIComponent(watched.id)).then(drawKey).catch(function () {});
  }
  document.getElementById('search').addEventListener('input', function () {
    clearTimeout(searchTimer);
    if (searchAbort) searchAbort.abort();
    searchSeq++;
    cursor = null;
    searchTimer = setTimeout(pollSearch, 150);
  });
  pollStatus();
  setInterval(pollStatus, 2000);
})();
`;
