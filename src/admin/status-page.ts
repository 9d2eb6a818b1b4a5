/**
 * The admin listener's status page (GET /): one self-contained HTML document, no build step and
 * no external assets. It holds no data itself: its script reads `metrics` (a relative URL, so the
 * page works behind a path prefix) every 2 s, parses the Prometheus text exposition and shows the
 * hit ratio, requests/s by cache status, origin latency and errors, store fill, Redis state, the
 * routes, the version and the process's memory and event-loop lag.
 *
 * Every number a test (or a curious operator) may read is in an element with a stable
 * `data-metric` name and its raw value in `data-value`; labels are further attributes
 * (`data-cache-status`, `data-upstream`, `data-tier`, `data-route`).
 */
import { createHash } from 'node:crypto'

const STYLE = String.raw`
:root { color-scheme: light dark; --bg: #f6f7f9; --card: #fff; --fg: #1d2330; --muted: #5d6678; --line: #dde1e8;
  --accent: #2f6fdf; --good: #1f8a4c; --warn: #b7791f; --bad: #c53030; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #12151b; --card: #1b2029; --fg: #e4e8ef; --muted: #9aa3b5; --line: #2c3341; --accent: #78a6ff;
    --good: #4cc47f; --warn: #e0a84a; --bad: #f07171; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1.25rem; padding: 1rem 1.5rem; border-bottom: 1px solid var(--line); background: var(--card); }
header h1 { margin: 0; font-size: 1.25rem; }
header .meta { color: var(--muted); }
#state { margin-left: auto; color: var(--muted); }
#state.error { color: var(--bad); font-weight: 600; }
main { padding: 1.25rem 1.5rem 2rem; max-width: 1200px; margin: 0 auto; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 1rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .9rem 1rem; min-width: 0; }
.card h2, section > h2 { margin: 0 0 .4rem; font-size: .8rem; font-weight: 600; letter-spacing: .04em; text-transform: uppercase; color: var(--muted); }
.big { font-size: 2rem; font-weight: 650; font-variant-numeric: tabular-nums; line-height: 1.2; }
.sub { color: var(--muted); font-variant-numeric: tabular-nums; }
dl.kv { display: grid; grid-template-columns: auto 1fr; gap: .15rem .75rem; margin: .3rem 0 0; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
section { margin-top: 1.5rem; }
.table-wrap { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; padding: .6rem .8rem; font-weight: 600; }
th, td { padding: .4rem .8rem; border-top: 1px solid var(--line); text-align: left; white-space: nowrap; }
th[scope=col] { color: var(--muted); font-weight: 600; font-size: .85rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tfoot th, tfoot td { font-weight: 650; }
.empty { color: var(--muted); font-style: italic; }
meter { width: 100%; height: .6rem; }
td meter { width: 6rem; vertical-align: middle; }
.up { color: var(--good); } .down { color: var(--bad); } .off { color: var(--muted); } .half { color: var(--warn); }
.tip-wrap { position: relative; display: inline-block; text-transform: none; letter-spacing: 0; }
.tip-btn { font: inherit; font-size: .75rem; width: 1.3em; height: 1.3em; line-height: 1; padding: 0; border-radius: 50%;
  border: 1px solid var(--muted); background: transparent; color: var(--muted); cursor: help; }
[role=tooltip] { position: absolute; z-index: 1; left: 0; top: 1.7em; width: 17rem; padding: .5rem .6rem; border-radius: 6px;
  background: var(--fg); color: var(--bg); font-weight: 400; font-size: .8rem; visibility: hidden; }
.tip-wrap:hover [role=tooltip], .tip-btn:focus + [role=tooltip] { visibility: visible; }
`

const SCRIPT = String.raw`
(function () {
  'use strict';
  var INTERVAL_MS = 2000;
  var TIMEOUT_MS = 5000;
  var STATUSES = ['HIT', 'STALE', 'UPDATING', 'REVALIDATED', 'MISS', 'EXPIRED', 'BYPASS', 'NONE'];
  var SERVED_FROM_CACHE = { HIT: 1, STALE: 1, UPDATING: 1, REVALIDATED: 1 };
  var NOT_CACHED_PATH = { BYPASS: 1, NONE: 1 };
  var BREAKER = ['closed', 'half-open', 'open'];

  // ---- Prometheus text exposition (version 0.0.4) ----------------------------------------------
  // One sample a line: name{label="value",…} value [timestamp]. '# TYPE name type' lines are kept
  // (a counter with labels has no sample until it first moves, yet it is 0, not unknown); other
  // comments, blank lines and lines that do not parse are skipped.
  function parseExposition(text) {
    var samples = [];
    var types = {};
    var lines = text.split('\n');
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i].replace(/\r$/, '').trim();
      if (line === '') continue;
      if (line.charAt(0) === '#') {
        var t = /^#\s*TYPE\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(\w+)/.exec(line);
        if (t !== null) types[t[1]] = t[2];
        continue;
      }
      var sample = parseLine(line);
      if (sample !== null) samples.push(sample);
    }
    return { samples: samples, types: types };
  }

  function parseLine(line) {
    var m = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (m === null) return null;
    var name = m[1];
    var pos = m[0].length;
    var labels = {};
    if (line.charAt(pos) === '{') {
      pos++;
      for (;;) {
        while (line.charAt(pos) === ' ' || line.charAt(pos) === ',') pos++;
        if (line.charAt(pos) === '}') { pos++; break; }
        var lm = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(line.slice(pos));
        if (lm === null) return null;
        pos += lm[0].length;
        var value = '';
        for (;;) {
          if (pos >= line.length) return null;
          var c = line.charAt(pos++);
          if (c === '"') break;
          if (c === '\\') {
            var e = line.charAt(pos++);
            value += e === 'n' ? '\n' : e;
          } else {
            value += c;
          }
        }
        labels[lm[1]] = value;
      }
    }
    var rest = line.slice(pos).trim().split(/\s+/);
    var v = parseValue(rest[0]);
    if (v === null) return null;
    return { name: name, labels: labels, value: v };
  }

  function parseValue(s) {
    if (s === undefined || s === '') return null;
    if (s === '+Inf' || s === 'Inf') return Infinity;
    if (s === '-Inf') return -Infinity;
    if (s === 'NaN') return NaN;
    var n = Number(s);
    return isNaN(n) ? null : n;
  }

  // ---- reading samples --------------------------------------------------------------------------
  function index(parsed) {
    var byName = {};
    parsed.samples.forEach(function (s) { (byName[s.name] = byName[s.name] || []).push(s); });
    return { byName: byName, types: parsed.types };
  }
  function series(m, name) { return m.byName[name] || []; }
  // The sum of a metric's samples (those the filter keeps); 0 for a declared metric without any, null when absent.
  function sum(m, name, where) {
    var total = 0, found = name in m.types;
    series(m, name).forEach(function (s) {
      if (where && !where(s.labels)) return;
      total += s.value; found = true;
    });
    return found ? total : null;
  }
  function first(m, name) { var s = series(m, name); return s.length > 0 ? s[0].value : null; }
  function groupSum(m, name, label) {
    var out = {};
    series(m, name).forEach(function (s) {
      var k = s.labels[label];
      if (k === undefined) return;
      out[k] = (out[k] || 0) + s.value;
    });
    return out;
  }

  // Prometheus's histogram_quantile: linear interpolation inside the bucket that holds the rank;
  // a rank in the +Inf bucket gives the highest finite bound.
  function quantile(q, buckets) {
    var bs = buckets.slice().sort(function (a, b) { return a.le - b.le; });
    if (bs.length === 0) return null;
    var total = bs[bs.length - 1].count;
    if (!(total > 0)) return null;
    var rank = q * total;
    var prevLe = 0, prevCount = 0;
    for (var i = 0; i < bs.length; i++) {
      var b = bs[i];
      if (b.count >= rank) {
        if (b.le === Infinity) return prevLe;
        if (b.count === prevCount) return b.le;
        var lower = i === 0 && b.le > 0 ? 0 : prevLe;
        return lower + (b.le - lower) * ((rank - prevCount) / (b.count - prevCount));
      }
      prevLe = b.le; prevCount = b.count;
    }
    return prevLe;
  }
  function bucketsOf(m, name, where) {
    var byLe = {};
    series(m, name).forEach(function (s) {
      if (where && !where(s.labels)) return;
      var le = parseValue(s.labels.le);
      if (le === null) return;
      var key = String(le);
      byLe[key] = byLe[key] || { le: le, count: 0 };
      byLe[key].count += s.value;
    });
    return Object.keys(byLe).map(function (k) { return byLe[k]; });
  }

  // ---- formatting -------------------------------------------------------------------------------
  function fmtInt(n) { return n === null ? '—' : Math.round(n).toLocaleString('en-US'); }
  function fmtRate(n) { return n === null ? '—' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US'); }
  function fmtPct(r) { return r === null ? '—' : r > 0 && r < 0.001 ? '< 0.1 %' : (r * 100).toFixed(1) + ' %'; }
  function fmtBytes(n) {
    if (n === null) return '—';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 2 : 1)) + ' ' + units[i];
  }
  function fmtSeconds(s) {
    if (s === null) return '—';
    if (s < 0.001) return (s * 1e6).toFixed(0) + ' µs';
    if (s < 1) return (s * 1000).toFixed(s < 0.01 ? 2 : 1) + ' ms';
    return s.toFixed(2) + ' s';
  }
  function fmtDuration(s) {
    if (s === null) return '—';
    s = Math.max(0, Math.floor(s));
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), mi = Math.floor(s % 3600 / 60);
    if (d > 0) return d + 'd ' + h + 'h';
    if (h > 0) return h + 'h ' + mi + 'm';
    if (mi > 0) return mi + 'm ' + (s % 60) + 's';
    return s + 's';
  }

  // ---- DOM helpers ------------------------------------------------------------------------------
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { if (attrs[k] !== undefined) node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function raw(v) { return v === null || v === undefined || (typeof v === 'number' && !isFinite(v)) ? '' : String(v); }
  // An element that shows a number: data-metric, the raw value, its labels, its formatted text.
  function metric(tag, name, value, text, labels, cls) {
    var attrs = { 'data-metric': name, 'data-value': raw(value), 'class': cls };
    if (labels) Object.keys(labels).forEach(function (k) { attrs['data-' + k] = labels[k]; });
    return el(tag, attrs, text);
  }
  function set(node, value, text) {
    node.setAttribute('data-value', raw(value));
    node.textContent = text;
  }
  function fill(tbody, rows, columns, emptyText) {
    tbody.replaceChildren();
    if (rows.length === 0) {
      var tr = el('tr');
      tr.appendChild(el('td', { colspan: String(columns), 'class': 'empty' }, emptyText));
      tbody.appendChild(tr);
      return;
    }
    rows.forEach(function (r) { tbody.appendChild(r); });
  }
  function kv(dl, label, node) {
    dl.appendChild(el('dt', null, label));
    var dd = el('dd');
    dd.appendChild(node);
    dl.appendChild(dd);
  }

  // ---- rendering --------------------------------------------------------------------------------
  var previous = null; // { at: ms, byStatus: {}, responses: {} }
  var lastSuccess = null;
  var lastError = null;
  var scrapes = 0;

  function rate(cur, prev, dt) {
    if (prev === undefined || prev === null || dt <= 0) return null;
    var d = cur - prev;
    if (d < 0) d = cur; // a counter reset: the process restarted
    return d / dt;
  }

  function hitRatio(byStatus) {
    var hits = 0, all = 0;
    Object.keys(byStatus).forEach(function (s) {
      if (NOT_CACHED_PATH[s]) return;
      all += byStatus[s];
      if (SERVED_FROM_CACHE[s]) hits += byStatus[s];
    });
    return all > 0 ? hits / all : null;
  }

  function render(m, at) {
    var byStatus = groupSum(m, 'corral_requests_total', 'cache_status');
    var responses = groupSum(m, 'corral_responses_total', 'code');
    var dt = previous ? (at - previous.at) / 1000 : 0;
    var prevStatus = previous ? previous.byStatus : null;

    // hit ratio: since start, and over the last interval
    var ratio = hitRatio(byStatus);
    set($('hit-ratio'), ratio, fmtPct(ratio));
    var recent = null;
    if (prevStatus) {
      var delta = {};
      Object.keys(byStatus).forEach(function (s) { delta[s] = Math.max(0, byStatus[s] - (prevStatus[s] || 0)); });
      recent = hitRatio(delta);
    }
    set($('hit-ratio-recent'), recent, fmtPct(recent));

    // requests by cache status
    var total = 0, totalRate = prevStatus ? 0 : null;
    var statuses = STATUSES.slice();
    Object.keys(byStatus).forEach(function (s) { if (statuses.indexOf(s) < 0) statuses.push(s); });
    var rows = [];
    statuses.forEach(function (s) {
      var n = byStatus[s] || 0;
      var r = prevStatus ? rate(n, prevStatus[s] || 0, dt) : null;
      total += n;
      if (r !== null && totalRate !== null) totalRate += r;
      var tr = el('tr');
      tr.appendChild(el('th', { scope: 'row' }, s));
      tr.appendChild(metric('td', 'requests-rate', r, fmtRate(r), { 'cache-status': s }, 'num'));
      tr.appendChild(metric('td', 'requests-total', n, fmtInt(n), { 'cache-status': s }, 'num'));
      rows.push(tr);
    });
    fill($('status-rows'), rows, 3, 'no requests yet');
    set($('requests-total-all'), total, fmtInt(total));
    set($('requests-rate-all'), totalRate, fmtRate(totalRate));
    set($('requests-rate'), totalRate, fmtRate(totalRate));
    set($('requests-total'), total, fmtInt(total));

    // responses by class
    var rdl = $('responses');
    rdl.replaceChildren();
    ['2xx', '3xx', '4xx', '5xx'].forEach(function (c) {
      var n = responses[c] || 0;
      var r = previous ? rate(n, previous.responses[c] || 0, dt) : null;
      kv(rdl, c, metric('span', 'responses-total', n, fmtInt(n) + (r === null ? '' : ' (' + fmtRate(r) + '/s)'), { code: c }));
    });

    // origins: requests, errors, latency from the histogram
    var upstreams = {};
    ['corral_origin_requests_total', 'corral_origin_errors_total', 'corral_origin_duration_seconds_count'].forEach(function (n) {
      series(m, n).forEach(function (s) { if (s.labels.upstream !== undefined) upstreams[s.labels.upstream] = 1; });
    });
    var oRows = [];
    var errorsAll = 0;
    Object.keys(upstreams).sort().forEach(function (u) {
      var mine = function (l) { return l.upstream === u; };
      var buckets = bucketsOf(m, 'corral_origin_duration_seconds_bucket', mine);
      var p50 = quantile(0.5, buckets), p99 = quantile(0.99, buckets);
      var reqs = sum(m, 'corral_origin_requests_total', mine);
      var errs = sum(m, 'corral_origin_errors_total', mine) || 0;
      errorsAll += errs;
      var kinds = [];
      series(m, 'corral_origin_errors_total').forEach(function (s) {
        if (s.labels.upstream === u && s.value > 0) kinds.push(s.labels.kind + ' ' + fmtInt(s.value));
      });
      var tr = el('tr');
      tr.appendChild(el('th', { scope: 'row' }, u));
      tr.appendChild(metric('td', 'origin-requests', reqs, fmtInt(reqs), { upstream: u }, 'num'));
      tr.appendChild(metric('td', 'origin-p50', p50, fmtSeconds(p50), { upstream: u }, 'num'));
      tr.appendChild(metric('td', 'origin-p99', p99, fmtSeconds(p99), { upstream: u }, 'num'));
      tr.appendChild(metric('td', 'origin-errors', errs, fmtInt(errs), { upstream: u }, 'num'));
      tr.appendChild(el('td', null, kinds.join(', ') || '—'));
      oRows.push(tr);
    });
    fill($('origin-rows'), oRows, 6, 'no origin requests yet');
    var allBuckets = bucketsOf(m, 'corral_origin_duration_seconds_bucket');
    var p50all = quantile(0.5, allBuckets), p99all = quantile(0.99, allBuckets);
    set($('origin-p50-all'), p50all, fmtSeconds(p50all));
    set($('origin-p99-all'), p99all, fmtSeconds(p99all));
    set($('origin-errors-all'), errorsAll, fmtInt(errorsAll));
    var errRate = previous ? rate(errorsAll, previous.errors, dt) : null;
    set($('origin-errors-rate'), errRate, fmtRate(errRate));

    // store
    var entries = groupSum(m, 'corral_store_entries', 'tier');
    var bytes = groupSum(m, 'corral_store_bytes', 'tier');
    var maxBytes = groupSum(m, 'corral_store_max_bytes', 'tier');
    var tiers = ['memory', 'l1', 'l2'].filter(function (t) { return t in entries || t in bytes || t in maxBytes; });
    var sRows = [];
    var sdl = $('store-summary');
    sdl.replaceChildren();
    tiers.forEach(function (t) {
      var b = t in bytes ? bytes[t] : null, mx = maxBytes[t] > 0 ? maxBytes[t] : null, n = t in entries ? entries[t] : null;
      var f = b !== null && mx !== null ? b / mx : null;
      var tr = el('tr');
      tr.appendChild(el('th', { scope: 'row' }, t));
      tr.appendChild(metric('td', 'store-entries', n, fmtInt(n), { tier: t }, 'num'));
      tr.appendChild(metric('td', 'store-bytes', b, fmtBytes(b), { tier: t }, 'num'));
      tr.appendChild(metric('td', 'store-max-bytes', mx, mx === null ? 'no limit' : fmtBytes(mx), { tier: t }, 'num'));
      var td = metric('td', 'store-fill', f, '', { tier: t }, 'num');
      if (f !== null) {
        var meter = el('meter', { min: '0', max: '1', low: '0.8', high: '0.95', optimum: '0', value: String(Math.min(1, f)), 'aria-label': t + ' store fill' });
        td.appendChild(meter);
        td.appendChild(document.createTextNode(' ' + fmtPct(f)));
      } else {
        td.textContent = '—';
      }
      tr.appendChild(td);
      sRows.push(tr);
      kv(sdl, t, el('span', null, fmtInt(n) + ' · ' + (f === null ? fmtBytes(b) : fmtPct(f))));
    });
    fill($('store-rows'), sRows, 5, 'no store metrics');
    if (tiers.length === 0) kv(sdl, 'store', el('span', null, '—'));

    // Redis
    var fleet = first(m, 'corral_fleet_mode');
    var up = first(m, 'corral_redis_up');
    var breaker = first(m, 'corral_redis_breaker_state');
    var redis = fleet === null ? null : fleet === 0 ? 'off' : up === 1 ? 'up' : 'down';
    var redisNode = $('redis');
    set(redisNode, redis, redis === null ? '—' : redis);
    redisNode.className = 'big ' + (redis === 'up' ? 'up' : redis === 'down' ? 'down' : 'off');
    var breakerName = breaker === null ? null : BREAKER[breaker] || String(breaker);
    var bNode = $('redis-breaker');
    set(bNode, breaker, fleet === 1 && breakerName !== null ? breakerName : '—');
    bNode.className = breaker === 2 ? 'down' : breaker === 1 ? 'half' : '';
    var redisErrors = sum(m, 'corral_redis_errors_total');
    set($('redis-errors'), redisErrors, fleet === 1 ? fmtInt(redisErrors) : '—');

    // routes
    var perRoute = {};
    series(m, 'corral_requests_total').forEach(function (s) {
      var r = s.labels.route;
      if (r === undefined) return;
      perRoute[r] = perRoute[r] || {};
      perRoute[r][s.labels.cache_status] = (perRoute[r][s.labels.cache_status] || 0) + s.value;
    });
    var rRows = [];
    series(m, 'corral_route_info').forEach(function (s) {
      var name = s.labels.route || '';
      var counts = perRoute[name] || {};
      var n = 0;
      Object.keys(counts).forEach(function (k) { n += counts[k]; });
      var hr = hitRatio(counts);
      var tr = el('tr', { 'data-metric': 'route', 'data-value': name, 'data-route': name });
      tr.appendChild(el('th', { scope: 'row' }, name));
      tr.appendChild(metric('td', 'route-upstream', s.labels.upstream || '', s.labels.upstream || '—', { route: name }));
      tr.appendChild(metric('td', 'route-cached', s.labels.cached || '', s.labels.cached === 'true' ? 'yes' : 'no', { route: name }));
      tr.appendChild(metric('td', 'route-requests', n, fmtInt(n), { route: name }, 'num'));
      tr.appendChild(metric('td', 'route-hit-ratio', hr, fmtPct(hr), { route: name }, 'num'));
      rRows.push(tr);
    });
    fill($('route-rows'), rRows, 5, 'no routes reported');

    // process, version, events
    var build = series(m, 'corral_build_info')[0];
    var version = build ? build.labels.version || null : null;
    set($('version'), version, version === null ? '' : 'v' + version);
    var rss = first(m, 'corral_process_resident_memory_bytes');
    set($('rss'), rss, fmtBytes(rss));
    var lag = first(m, 'corral_nodejs_eventloop_lag_seconds');
    set($('eventloop-lag'), lag, fmtSeconds(lag));
    var lagP99 = first(m, 'corral_nodejs_eventloop_lag_p99_seconds');
    set($('eventloop-lag-p99'), lagP99, fmtSeconds(lagP99));
    var started = first(m, 'corral_process_start_time_seconds');
    var uptime = started === null ? null : Date.now() / 1000 - started;
    set($('uptime'), uptime, uptime === null ? '' : 'up ' + fmtDuration(uptime));
    var coalesced = sum(m, 'corral_coalesced_requests_total');
    set($('coalesced'), coalesced, fmtInt(coalesced));
    var stale = sum(m, 'corral_stale_served_total');
    set($('stale-served'), stale, fmtInt(stale));
    var purges = sum(m, 'corral_purges_total');
    set($('purges'), purges, fmtInt(purges));

    previous = { at: at, byStatus: byStatus, responses: responses, errors: errorsAll };
  }

  // ---- the loop -----------------------------------------------------------------------------------
  function showState() {
    var ago = lastSuccess === null ? null : Math.floor((Date.now() - lastSuccess) / 1000);
    var agoNode = $('updated-ago');
    agoNode.setAttribute('data-value', raw(ago));
    agoNode.textContent = lastSuccess === null ? 'waiting for the first update…' : 'updated ' + ago + 's ago';
    // The live region changes only when an update fails or works again, not with every tick.
    var err = $('fetch-error');
    var message = lastError === null ? '' : '— update failed (' + lastError + ')' + (lastSuccess === null ? '' : '; showing the last numbers');
    if (err.textContent !== message) err.textContent = message;
    err.setAttribute('data-value', lastError === null ? '' : lastError);
    $('state').className = lastError === null ? '' : 'error';
  }

  function scrape() {
    var controller = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = setTimeout(function () { if (controller) controller.abort(); }, TIMEOUT_MS);
    fetch('metrics', { cache: 'no-store', headers: { accept: 'text/plain' }, signal: controller ? controller.signal : undefined })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.text();
      })
      .then(function (text) {
        render(index(parseExposition(text)), performance.now());
        lastSuccess = Date.now();
        lastError = null;
        scrapes++;
        document.body.setAttribute('data-scrapes', String(scrapes));
      })
      .catch(function (e) {
        lastError = e && e.name === 'AbortError' ? 'timed out' : e && e.message ? e.message : String(e);
      })
      .then(function () {
        clearTimeout(timer);
        showState();
        setTimeout(scrape, INTERVAL_MS);
      });
  }

  window.corralStatus = { parseExposition: parseExposition, quantile: quantile, hitRatio: hitRatio };
  setInterval(showState, 1000);
  scrape();
})();
`

const HIT_RATIO_DEFINITION =
  'Requests served from the cache (HIT + STALE + UPDATING + REVALIDATED) over all requests on the cache path (those plus MISS and EXPIRED); BYPASS and NONE are left out. Since the process started; the line below: over the last 2 s.'

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`
}

// The page loads nothing but its own metrics: the browser refuses anything else.
const CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ')

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="referrer" content="no-referrer">
<title>corral status</title>
<style>${STYLE}</style>
</head>
<body data-scrapes="0">
<header>
  <h1>corral status</h1>
  <span class="meta"><span data-metric="version" id="version" data-value=""></span> <span data-metric="uptime" id="uptime" data-value=""></span></span>
  <p id="state"><span data-metric="updated-ago" id="updated-ago" data-value="">loading…</span> <span data-metric="fetch-error" id="fetch-error" data-value="" role="status" aria-live="polite"></span></p>
</header>
<main>
  <div class="cards">
    <article class="card" aria-labelledby="h-hit">
      <h2 id="h-hit">Hit ratio
        <span class="tip-wrap"><button type="button" class="tip-btn" aria-label="How the hit ratio is computed" aria-describedby="hit-ratio-definition">?</button><span role="tooltip" id="hit-ratio-definition">${HIT_RATIO_DEFINITION}</span></span>
      </h2>
      <div class="big" data-metric="hit-ratio" id="hit-ratio" data-value="">—</div>
      <div class="sub">last 2 s: <span data-metric="hit-ratio-recent" id="hit-ratio-recent" data-value="">—</span></div>
    </article>
    <article class="card" aria-labelledby="h-rps">
      <h2 id="h-rps">Requests/s</h2>
      <div class="big" data-metric="requests-rate" id="requests-rate" data-value="">—</div>
      <div class="sub"><span data-metric="requests-total" id="requests-total" data-value="">—</span> since start</div>
      <dl class="kv" id="responses" aria-label="Responses by status class"></dl>
    </article>
    <article class="card" aria-labelledby="h-lat">
      <h2 id="h-lat">Origin latency</h2>
      <dl class="kv">
        <dt>p50</dt><dd data-metric="origin-p50-all" id="origin-p50-all" data-value="">—</dd>
        <dt>p99</dt><dd data-metric="origin-p99-all" id="origin-p99-all" data-value="">—</dd>
      </dl>
      <div class="sub">estimated from the histogram buckets, since start</div>
    </article>
    <article class="card" aria-labelledby="h-err">
      <h2 id="h-err">Origin errors</h2>
      <div class="big" data-metric="origin-errors-all" id="origin-errors-all" data-value="">—</div>
      <div class="sub"><span data-metric="origin-errors-rate" id="origin-errors-rate" data-value="">—</span>/s now</div>
    </article>
    <article class="card" aria-labelledby="h-store">
      <h2 id="h-store">Store fill</h2>
      <dl class="kv" id="store-summary" aria-label="Entries and fill per tier"></dl>
    </article>
    <article class="card" aria-labelledby="h-redis">
      <h2 id="h-redis">Redis</h2>
      <div class="big off" data-metric="redis" id="redis" data-value="">—</div>
      <dl class="kv">
        <dt>breaker</dt><dd data-metric="redis-breaker" id="redis-breaker" data-value="">—</dd>
        <dt>errors</dt><dd data-metric="redis-errors" id="redis-errors" data-value="">—</dd>
      </dl>
    </article>
    <article class="card" aria-labelledby="h-proc">
      <h2 id="h-proc">Process</h2>
      <dl class="kv">
        <dt>memory (RSS)</dt><dd data-metric="rss-bytes" id="rss" data-value="">—</dd>
        <dt>event-loop lag</dt><dd data-metric="eventloop-lag-seconds" id="eventloop-lag" data-value="">—</dd>
        <dt>lag p99</dt><dd data-metric="eventloop-lag-p99-seconds" id="eventloop-lag-p99" data-value="">—</dd>
      </dl>
    </article>
    <article class="card" aria-labelledby="h-events">
      <h2 id="h-events">Cache events</h2>
      <dl class="kv">
        <dt>coalesced</dt><dd data-metric="coalesced" id="coalesced" data-value="">—</dd>
        <dt>stale served</dt><dd data-metric="stale-served" id="stale-served" data-value="">—</dd>
        <dt>purges</dt><dd data-metric="purges" id="purges" data-value="">—</dd>
      </dl>
    </article>
  </div>

  <section aria-labelledby="h-status">
    <h2 id="h-status">Requests by cache status</h2>
    <div class="table-wrap"><table aria-labelledby="h-status">
      <thead><tr><th scope="col">X-Cache-Status</th><th scope="col" class="num">req/s</th><th scope="col" class="num">total</th></tr></thead>
      <tbody id="status-rows"></tbody>
      <tfoot><tr><th scope="row">all</th><td class="num" data-metric="requests-rate" data-cache-status="all" id="requests-rate-all" data-value="">—</td><td class="num" data-metric="requests-total" data-cache-status="all" id="requests-total-all" data-value="">—</td></tr></tfoot>
    </table></div>
  </section>

  <section aria-labelledby="h-origins">
    <h2 id="h-origins">Origins</h2>
    <div class="table-wrap"><table aria-labelledby="h-origins">
      <thead><tr><th scope="col">upstream</th><th scope="col" class="num">requests</th><th scope="col" class="num">p50</th><th scope="col" class="num">p99</th><th scope="col" class="num">errors</th><th scope="col">errors by kind</th></tr></thead>
      <tbody id="origin-rows"></tbody>
    </table></div>
  </section>

  <section aria-labelledby="h-tiers">
    <h2 id="h-tiers">Store</h2>
    <div class="table-wrap"><table aria-labelledby="h-tiers">
      <thead><tr><th scope="col">tier</th><th scope="col" class="num">entries</th><th scope="col" class="num">bytes</th><th scope="col" class="num">max</th><th scope="col" class="num">fill</th></tr></thead>
      <tbody id="store-rows"></tbody>
    </table></div>
  </section>

  <section aria-labelledby="h-routes">
    <h2 id="h-routes">Routes</h2>
    <div class="table-wrap"><table aria-labelledby="h-routes">
      <thead><tr><th scope="col">route</th><th scope="col">upstream</th><th scope="col">cached</th><th scope="col" class="num">requests</th><th scope="col" class="num">hit ratio</th></tr></thead>
      <tbody id="route-rows"></tbody>
    </table></div>
  </section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`

/** The status page: a complete HTML document, the same for every request (it holds no data). */
export function statusPage(): string {
  return HTML
}
