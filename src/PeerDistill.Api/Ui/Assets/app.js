// PeerDistill live view. Plain script, no build step, no other origin: everything it shows comes
// from this coordinator's API (/api/v1) with the user's bearer token. The page's own files hold no
// data. A run is watched over the API's server-sent events (read with fetch, since EventSource
// cannot send an Authorization header), resumed with Last-Event-ID after a disconnect; its curves
// are seeded from the metrics history and extended with every event.
'use strict';

(() => {
  const API = '/api/v1';
  const TOKEN_KEY = 'peerdistill.token';
  const HISTORY_POINTS = 1000;     // per peer, asked of the metrics history (the server keeps every k-th row)
  const MAX_POINTS = 4000;         // per peer and curve kept in memory (thinned by half beyond)
  const DRAWN_POINTS = 600;        // vertices drawn per curve at most
  const LIST_REFRESH_MS = 5000;    // the runs list is read again this often while the tab is visible
  const RETRY_MS = [1000, 2000, 5000, 10000];
  const ENDED = new Set(['completed', 'failed', 'cancelled']);
  const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
  const SVG = 'http://www.w3.org/2000/svg';

  const $ = (id) => document.getElementById(id);
  const state = {
    token: null,
    selected: null,          // {cohort, run}
    watch: null,             // AbortController of the selected run's stream and seed
    lastEventId: null,
    curves: new Map(),       // peer -> {loss: Map(step -> value), accuracy: Map(step -> value), lastAccuracy}
    peerOrder: [],
    drawPending: false,
    listTimer: null,
  };

  class HttpError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  // ---- the token -------------------------------------------------------------------------------

  function fragment() {
    return new URLSearchParams(location.hash.startsWith('#') ? location.hash.slice(1) : '');
  }

  function setFragment(params) {
    const text = params.toString();
    history.replaceState(null, '', location.pathname + location.search + (text ? '#' + text : ''));
  }

  function takeToken() {
    const params = fragment();
    const fromUrl = params.get('token');
    if (fromUrl) {
      sessionStorage.setItem(TOKEN_KEY, fromUrl.trim());
      params.delete('token');
      setFragment(params);   // the token does not stay in the address bar or the history
    }

    return sessionStorage.getItem(TOKEN_KEY);
  }

  function askForToken(text) {
    $('token-form').hidden = false;
    $('forget').hidden = true;
    $('dashboard-link').hidden = true;
    $('runs-panel').hidden = true;
    $('run-panel').hidden = true;
    if (text) {
      message(text);
    }

    $('token-input').focus();
  }

  async function useToken(token) {
    state.token = token;
    $('token-form').hidden = true;
    $('forget').hidden = false;
    message(null);
    openDashboardSession();
    await refreshRuns();
    clearInterval(state.listTimer);
    state.listTimer = setInterval(() => {
      if (document.visibilityState === 'visible' && state.token) {
        refreshRuns();
      }
    }, LIST_REFRESH_MS);
  }

  async function forgetToken() {
    if (state.token) {
      try {
        await fetch('/ui/session', { method: 'DELETE', headers: { Authorization: 'Bearer ' + state.token } });
      } catch (e) {
        // The session ends with its lifetime anyway.
      }
    }

    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    clearInterval(state.listTimer);
    stopWatch();
    state.selected = null;
    askForToken('The token is forgotten in this tab.');
  }

  // The Orleans dashboard (/orleans/) is opened by navigation, which cannot carry the bearer header:
  // this asks the coordinator for a session cookie that it accepts for GET /orleans/... only.
  async function openDashboardSession() {
    const link = $('dashboard-link');
    try {
      await api('/ui/session', { method: 'POST' });
      link.hidden = false;
      link.title = 'Opens the Orleans dashboard with a session of this token (8 h at most).';
    } catch (e) {
      link.hidden = true;
      if (e instanceof HttpError && e.status === 403) {
        note('The Orleans dashboard is not for this token: ' + e.message);
      }
    }
  }

  // ---- the API ---------------------------------------------------------------------------------

  async function api(path, init = {}) {
    const headers = new Headers(init.headers || {});
    headers.set('Authorization', 'Bearer ' + state.token);
    const response = await fetch(path, { ...init, headers, cache: 'no-store' });
    if (!response.ok) {
      let detail = response.statusText || 'HTTP ' + response.status;
      try {
        const problem = await response.json();
        detail = problem.detail || problem.title || detail;
      } catch (e) {
        // Not a problem document.
      }

      throw new HttpError(response.status, detail);
    }

    return response;
  }

  function runPath(key) {
    return `${API}/runs/${encodeURIComponent(key.cohort)}/${encodeURIComponent(key.run)}`;
  }

  // A refusal of the credential stops everything until another token is given.
  function refused(error) {
    if (!(error instanceof HttpError)) {
      return false;
    }

    if (error.status === 401) {
      stopWatch();
      clearInterval(state.listTimer);
      askForToken('The coordinator refused the token (401 Unauthorized): ' + error.message);
      return true;
    }

    if (error.status === 403) {
      message('This token may not do that (403 Forbidden): ' + error.message);
      return true;
    }

    return false;
  }

  // ---- runs ------------------------------------------------------------------------------------

  async function refreshRuns() {
    let page;
    try {
      page = await (await api(`${API}/runs?limit=50`)).json();
    } catch (e) {
      if (!refused(e)) {
        note('Could not list the runs: ' + e.message);
      }

      return;
    }

    renderRuns(page.runs);
    if (!state.selected) {
      const wanted = fragment().get('run');
      const slash = wanted ? wanted.indexOf('/') : -1;
      if (slash > 0) {
        select(wanted.slice(0, slash), wanted.slice(slash + 1));
      } else if (page.runs.length > 0) {
        const first = page.runs.find((r) => r.state === 'running') || page.runs[0];
        select(first.cohort, first.run);
      }
    }
  }

  function renderRuns(runs) {
    $('runs-panel').hidden = false;
    $('runs-empty').hidden = runs.length > 0;
    $('runs').tBodies[0].replaceChildren(...runs.map(runRow));
  }

  function runRow(run) {
    const row = document.createElement('tr');
    row.dataset.cohort = run.cohort;
    row.dataset.run = run.run;
    if (state.selected && state.selected.cohort === run.cohort && state.selected.run === run.run) {
      row.classList.add('selected');
    }

    const step = run.peers.length ? Math.min(...run.peers.map((p) => p.step)) : 0;
    const total = run.peers.length ? Math.max(...run.peers.map((p) => p.total_steps)) : 0;
    row.append(
      cell(run.cohort),
      cell(run.run),
      stateCell(run.state),
      progressCell(step, total),
      cell(formatTime(run.created)));
    row.addEventListener('click', () => select(run.cohort, run.run));
    return row;
  }

  function select(cohort, run) {
    if (state.selected && state.selected.cohort === cohort && state.selected.run === run) {
      return;
    }

    stopWatch();
    state.selected = { cohort, run };
    state.lastEventId = null;
    state.curves = new Map();
    state.peerOrder = [];
    const params = fragment();
    params.set('run', `${cohort}/${run}`);
    setFragment(params);
    for (const row of $('runs').tBodies[0].rows) {
      row.classList.toggle('selected', row.dataset.cohort === cohort && row.dataset.run === run);
    }

    $('run-panel').hidden = false;
    $('run-title').textContent = `${cohort} / ${run}`;
    $('run-state').textContent = '';
    $('run-meta').textContent = 'loading…';
    $('peers').tBodies[0].replaceChildren();
    $('events').replaceChildren();
    drawCharts();
    const controller = new AbortController();
    state.watch = controller;
    seedAndWatch(state.selected, controller.signal);
  }

  function stopWatch() {
    if (state.watch) {
      state.watch.abort();
      state.watch = null;
    }

    connection('idle', 'not connected');
  }

  // ---- the selected run: history, then the watch stream -----------------------------------------

  async function seedAndWatch(key, signal) {
    try {
      const history = await (await api(`${runPath(key)}/metrics?max_points=${HISTORY_POINTS}`, { signal })).json();
      for (const point of history.points) {
        addPoint(point.peer, 'loss', point.step, point.loss);
        addPoint(point.peer, 'accuracy', point.step, point.accuracy);
        if (point.accuracy !== null && point.accuracy !== undefined) {
          curvesOf(point.peer).lastAccuracy = point.accuracy;
        }
      }

      scheduleDraw();
    } catch (e) {
      if (signal.aborted) {
        return;
      }

      if (refused(e)) {
        return;
      }

      note('No metrics history for this run (yet): ' + e.message);
    }

    await watch(key, signal);
  }

  async function watch(key, signal) {
    let attempt = 0;
    while (!signal.aborted) {
      let ended = false;
      try {
        const headers = { Accept: 'text/event-stream' };
        if (state.lastEventId) {
          headers['Last-Event-ID'] = state.lastEventId;
        }

        const response = await api(`${runPath(key)}/events`, { headers, signal });
        connection('live', 'live');
        attempt = 0;
        await readEvents(response.body, signal, (event) => {
          if (event.id) {
            state.lastEventId = event.id;
          }

          if (event.type === 'run') {
            const run = JSON.parse(event.data);
            ended = ENDED.has(run.state);
            showRun(run);
          }
        });
      } catch (e) {
        if (signal.aborted) {
          return;
        }

        if (e instanceof HttpError && (e.status === 401 || e.status === 403 || e.status === 404)) {
          connection('stopped', 'stopped');
          if (!refused(e)) {
            message(`The run ${key.cohort} / ${key.run} cannot be watched (${e.status}): ${e.message}`);
          }

          return;
        }
      }

      if (ended) {
        connection('ended', 'run ended');
        return;
      }

      // The stream closed or failed (a coordinator restart, a network change): resume after the last event seen.
      connection('reconnecting', 'reconnecting…');
      await sleep(RETRY_MS[Math.min(attempt++, RETRY_MS.length - 1)], signal);
    }
  }

  // Server-sent events from a fetch body (the text/event-stream format: fields per line, an event per blank line).
  async function readEvents(body, signal, onEvent) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    const abort = () => reader.cancel().catch(() => {});
    signal.addEventListener('abort', abort, { once: true });
    let buffer = '';
    let data = [];
    let type = '';
    let id = null;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          return;
        }

        buffer += value;
        for (;;) {
          const end = buffer.search(/[\r\n]/);
          if (end < 0 || (buffer[end] === '\r' && end === buffer.length - 1)) {
            break;   // no whole line yet (a CR may be followed by an LF in the next chunk)
          }

          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + (buffer[end] === '\r' && buffer[end + 1] === '\n' ? 2 : 1));
          if (line === '') {
            if (data.length > 0) {
              onEvent({ type: type || 'message', data: data.join('\n'), id });
            }

            data = [];
            type = '';
            continue;
          }

          if (line.startsWith(':')) {
            continue;
          }

          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          let text = colon < 0 ? '' : line.slice(colon + 1);
          if (text.startsWith(' ')) {
            text = text.slice(1);
          }

          if (field === 'data') {
            data.push(text);
          } else if (field === 'event') {
            type = text;
          } else if (field === 'id' && !text.includes('\0')) {
            id = text;
          }
        }
      }
    } finally {
      signal.removeEventListener('abort', abort);
    }
  }

  function showRun(run) {
    $('run-title').textContent = `${run.cohort} / ${run.run}`;
    const badge = $('run-state');
    badge.textContent = run.state;
    badge.className = 'state state-' + run.state;
    const meta = [`version ${run.version}`, `created ${formatTime(run.created)}`];
    if (run.finished) {
      meta.push(`finished ${formatTime(run.finished)}`);
    }

    if (run.paused_at_step !== null && run.paused_at_step !== undefined) {
      meta.push(`paused at step ${run.paused_at_step}`);
    }

    $('run-meta').textContent = meta.join(' · ');
    // The runs list shows the watched run as it is now, not as of its last refresh.
    const listed = [...$('runs').tBodies[0].rows].find((r) => r.dataset.cohort === run.cohort && r.dataset.run === run.run);
    if (listed) {
      listed.replaceWith(runRow(run));
    }
    $('peers').tBodies[0].replaceChildren(...run.peers.map(peerRow));
    for (const peer of run.peers) {
      // The live point: the loss of the last reported step (steps are counted from 1 here, from 0 in the history).
      if (peer.step > 0) {
        addPoint(peer.name, 'loss', peer.step - 1, peer.last_loss);
      }

      const curves = curvesOf(peer.name);
      if (peer.accuracy !== null && peer.accuracy !== undefined && peer.accuracy !== curves.lastAccuracy) {
        curves.lastAccuracy = peer.accuracy;
        addPoint(peer.name, 'accuracy', Math.max(0, peer.step - 1), peer.accuracy);
      }
    }

    $('events').replaceChildren(...run.events.slice().reverse().map(eventItem));
    scheduleDraw();
  }

  function peerRow(peer) {
    const row = document.createElement('tr');
    row.dataset.peer = peer.name;
    const worker = cell(peer.worker || '—');
    if (peer.worker_silo) {
      worker.title = 'silo ' + peer.worker_silo;
    }

    // Filled in by the coordinator from each peer's last report, where it knows them.
    const stepMs = peer.step_ms;
    const waitMs = peer.exchange_wait_ms;
    row.append(
      cell(peer.name),
      cell(peer.model),
      worker,
      cell(peer.device),
      cell(String(peer.generation), 'num'),
      progressCell(peer.step, peer.total_steps),
      stateCell(peer.state),
      cell(formatNumber(peer.last_loss, 4), 'num'),
      cell(peer.accuracy === null || peer.accuracy === undefined ? '—' : (100 * peer.accuracy).toFixed(1) + ' %', 'num'),
      cell(formatMs(stepMs), 'num step-ms'),
      cell(formatMs(waitMs), 'num exchange-wait-ms'),
      cell(peer.message || '', 'message'));
    return row;
  }

  function eventItem(event) {
    const item = document.createElement('li');
    const time = document.createElement('time');
    time.dateTime = event.at;
    time.textContent = formatTime(event.at);
    const kind = document.createElement('span');
    kind.className = 'kind';
    kind.textContent = event.kind;
    item.append(time, kind);
    if (event.peer) {
      const peer = document.createElement('span');
      peer.className = 'peer';
      peer.textContent = event.peer;
      item.append(peer);
    }

    item.append(document.createTextNode(event.message));
    return item;
  }

  // ---- curves ----------------------------------------------------------------------------------

  function curvesOf(peer) {
    let curves = state.curves.get(peer);
    if (!curves) {
      curves = { loss: new Map(), accuracy: new Map(), lastAccuracy: null };
      state.curves.set(peer, curves);
      state.peerOrder.push(peer);
    }

    return curves;
  }

  function addPoint(peer, series, step, value) {
    if (value === null || value === undefined || !Number.isFinite(value) || step < 0) {
      return;
    }

    const points = curvesOf(peer)[series];
    points.set(step, value);
    if (points.size > MAX_POINTS) {
      // Thin by half, keeping the newest: the curve keeps its shape.
      const steps = [...points.keys()].sort((a, b) => a - b);
      for (let i = 0; i < steps.length - 1; i += 2) {
        points.delete(steps[i]);
      }
    }
  }

  function scheduleDraw() {
    if (!state.drawPending) {
      state.drawPending = true;
      requestAnimationFrame(() => {
        state.drawPending = false;
        drawCharts();
      });
    }
  }

  function drawCharts() {
    drawChart($('loss-chart'), 'loss', (v) => formatNumber(v, 3), false);
    drawChart($('accuracy-chart'), 'accuracy', (v) => (100 * v).toFixed(0) + ' %', true);
  }

  function drawChart(figure, series, label, unitInterval) {
    const width = 560;
    const height = 220;
    const left = 52;
    const right = 12;
    const top = 10;
    const bottom = 26;
    const peers = state.peerOrder.map((peer, i) => ({
      peer,
      color: COLORS[i % COLORS.length],
      points: [...state.curves.get(peer)[series].entries()].sort((a, b) => a[0] - b[0]),
    }));
    const all = peers.flatMap((p) => p.points);
    const svg = element('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': figure.querySelector('figcaption').textContent });
    if (all.length === 0) {
      svg.append(text(width / 2, height / 2, 'no points yet', 'middle', 'empty'));
      figure.querySelector('.plot').replaceChildren(svg);
      figure.querySelector('.legend').replaceChildren();
      return;
    }

    let minX = Math.min(...all.map((p) => p[0]));
    let maxX = Math.max(...all.map((p) => p[0]));
    let minY = unitInterval ? 0 : Math.min(0, ...all.map((p) => p[1]));
    let maxY = unitInterval ? 1 : Math.max(...all.map((p) => p[1]));
    if (maxX === minX) {
      maxX = minX + 1;
    }

    if (maxY === minY) {
      maxY = minY + 1;
    }

    const x = (step) => left + ((step - minX) / (maxX - minX)) * (width - left - right);
    const y = (value) => top + (1 - (value - minY) / (maxY - minY)) * (height - top - bottom);
    for (let i = 0; i <= 4; i++) {
      const value = minY + ((maxY - minY) * i) / 4;
      svg.append(element('line', { class: 'grid', x1: left, x2: width - right, y1: y(value), y2: y(value) }));
      svg.append(text(left - 6, y(value) + 3, label(value), 'end'));
    }

    for (let i = 0; i <= 4; i++) {
      const step = Math.round(minX + ((maxX - minX) * i) / 4);
      svg.append(text(x(step), height - 8, String(step), 'middle'));
    }

    svg.append(element('line', { class: 'axis', x1: left, x2: left, y1: top, y2: height - bottom }));
    svg.append(element('line', { class: 'axis', x1: left, x2: width - right, y1: height - bottom, y2: height - bottom }));
    for (const { peer, color, points } of peers) {
      if (points.length === 0) {
        continue;
      }

      const stride = Math.max(1, Math.ceil(points.length / DRAWN_POINTS));
      const drawn = points.filter((_, i) => i % stride === 0 || i === points.length - 1);
      const vertices = drawn.map(([step, value]) => `${x(step).toFixed(1)},${y(value).toFixed(1)}`);
      if (vertices.length === 1) {
        vertices.push(vertices[0]);   // one point still shows, as a dot
      }

      svg.append(element('polyline', {
        class: 'curve',
        stroke: color,
        points: vertices.join(' '),
        'data-peer': peer,
        'data-points': points.length,
        'data-last-step': points[points.length - 1][0],
      }));
    }

    figure.querySelector('.plot').replaceChildren(svg);
    figure.querySelector('.legend').replaceChildren(...peers.filter((p) => p.points.length > 0).map(({ peer, color, points }) => {
      const entry = document.createElement('span');
      const swatch = element('svg', { width: 14, height: 4, viewBox: '0 0 14 4' });
      swatch.append(element('rect', { width: 14, height: 4, fill: color }));
      entry.append(swatch, document.createTextNode(`${peer} (${points.length})`));
      return entry;
    }));
  }

  // ---- small helpers ---------------------------------------------------------------------------

  function element(name, attributes) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) {
      node.setAttribute(key, String(value));
    }

    return node;
  }

  function text(x, y, content, anchor, className) {
    const node = element('text', { x, y, 'text-anchor': anchor });
    if (className) {
      node.setAttribute('class', className);
    }

    node.textContent = content;
    return node;
  }

  function cell(content, className) {
    const td = document.createElement('td');
    td.textContent = content;
    if (className) {
      td.className = className;
    }

    return td;
  }

  function stateCell(value) {
    const td = document.createElement('td');
    const badge = document.createElement('span');
    badge.className = 'state state-' + value;
    badge.textContent = value;
    td.append(badge);
    return td;
  }

  function progressCell(step, total) {
    const td = cell(`${step} / ${total}`, 'num');
    const bar = element('svg', { class: 'progress', viewBox: '0 0 100 6', preserveAspectRatio: 'none' });
    bar.append(element('rect', { x: 0, y: 0, height: 6, width: total > 0 ? Math.min(100, (100 * step) / total).toFixed(1) : 0 }));
    td.append(bar);
    return td;
  }

  function formatMs(value) {
    return value === null || value === undefined || !Number.isFinite(value) ? '—' : `${value.toFixed(value < 10 ? 2 : 1)} ms`;
  }

  function formatNumber(value, digits) {
    return value === null || value === undefined || !Number.isFinite(value) ? '—' : Number(value).toPrecision(digits);
  }

  function formatTime(instant) {
    const date = new Date(instant);
    return Number.isNaN(date.getTime()) ? String(instant) : date.toISOString().replace('T', ' ').slice(0, 19);
  }

  function connection(kind, label) {
    document.body.dataset.connection = kind;
    $('connection').textContent = label;
  }

  function message(text) {
    const box = $('message');
    box.classList.remove('note');
    box.hidden = !text;
    box.textContent = text || '';
  }

  function note(text) {
    message(text);
    $('message').classList.add('note');
  }

  function sleep(ms, signal) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }

  // ---- start -----------------------------------------------------------------------------------

  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token-input').value.trim();
    if (token) {
      sessionStorage.setItem(TOKEN_KEY, token);
      $('token-input').value = '';
      useToken(token);
    }
  });
  $('forget').addEventListener('click', forgetToken);
  window.addEventListener('hashchange', () => {
    const params = fragment();
    if (params.has('token')) {
      const token = takeToken();
      useToken(token);
      return;
    }

    const wanted = params.get('run');
    const slash = wanted ? wanted.indexOf('/') : -1;
    if (state.token && slash > 0) {
      select(wanted.slice(0, slash), wanted.slice(slash + 1));
    }
  });

  const token = takeToken();
  if (token) {
    useToken(token);
  } else {
    askForToken(null);
  }
})();
