// ipcast live dashboard: receives a DashboardSnapshot (src/metrics/snapshot.ts) over
// the WebSocket at /ws every 500 ms and draws the three transports side by side.
// No libraries and no external resources: the charts are drawn on <canvas> here.
'use strict';

(() => {
  const TRANSPORTS = ['pipe', 'shm', 'msg'];
  const WINDOW_MS = 60_000;
  const COLORS = { pipe: '#2f6fdf', shm: '#1a9e6a', msg: '#d9770b' };

  /** Rolling history per transport: [{t, bps (bytes/s), p50, p99 (µs), drops}] covering WINDOW_MS. */
  const history = Object.fromEntries(TRANSPORTS.map((k) => [k, []]));
  const columns = {};

  const $ = (sel, root = document) => root.querySelector(sel);
  const setText = (root, field, text) => {
    const el = $(`[data-field="${field}"]`, root);
    if (el && el.textContent !== text) el.textContent = text;
  };

  const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
  /** A rate in the unit that fits it, three significant digits: 88.2 kB/s, 1.25 GB/s. */
  const fmtRate = (bps) => {
    const units = ['B/s', 'kB/s', 'MB/s', 'GB/s'];
    let i = 0;
    while (bps >= 999.5 && i < units.length - 1) {
      bps /= 1000;
      i++;
    }
    return bps > 0 ? `${i === 0 ? Math.round(bps) : bps.toPrecision(3)} ${units[i]}` : '0 B/s';
  };
  const fmtBytes = (n) => {
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) {
      n /= 1000;
      i++;
    }
    return `${i === 0 ? n : n.toFixed(2)} ${units[i]}`;
  };
  const fmtUs = (us) => (us >= 1000 ? `${(us / 1000).toFixed(us >= 1e5 ? 0 : 2)} ms` : `${Math.round(us)} µs`);
  const fmtBitrate = (b) => (b >= 1e6 ? `${(b / 1e6).toFixed(2)} Mbit/s` : b > 0 ? `${(b / 1e3).toFixed(0)} kbit/s` : '—');

  function buildColumns() {
    const template = $('#transport-template');
    const host = $('#transports');
    for (const kind of TRANSPORTS) {
      const node = template.content.firstElementChild.cloneNode(true);
      node.dataset.transport = kind;
      node.id = `transport-${kind}`;
      setText(node, 'name', kind);
      host.appendChild(node);
      columns[kind] = node;
    }
  }

  const RATE_UNITS = [[1, 'B/s'], [1e3, 'kB/s'], [1e6, 'MB/s'], [1e9, 'GB/s']];
  const TIME_UNITS = [[1, 'µs'], [1e3, 'ms'], [1e6, 's']];
  const COUNT_UNITS = [[1, '/s']];

  /** Draws series [{values: (number|null)[], color, dash}] over times ts on a canvas. */
  function drawChart(canvas, ts, series, now, units, sharedMax) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || canvas.width;
    const h = canvas.clientHeight || canvas.height;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const padL = 44, padR = 6, padT = 6, padB = 14;
    const ax = globalThis.ipcastAxis.axis(sharedMax, units);
    const max = ax.max;
    const x = (t) => padL + ((t - (now - WINDOW_MS)) / WINDOW_MS) * (w - padL - padR);
    const y = (v) => h - padB - (v / max) * (h - padT - padB);

    ctx.font = '10px system-ui, sans-serif';
    ctx.fillStyle = '#6b7385';
    ctx.strokeStyle = '#e3e6ec';
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const tick of ax.ticks) {
      const yy = Math.round(y(tick.value)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(padL, yy);
      ctx.lineTo(w - padR, yy);
      ctx.stroke();
      ctx.fillText(tick.label, padL - 4, yy);
    }
    ctx.textAlign = 'left';
    ctx.fillText(ax.unit, padL + 3, padT + 5);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'alphabetic';
    for (const s of [60, 30, 0]) ctx.fillText(s ? `-${s}s` : 'now', Math.min(x(now - s * 1000), w - padR - 10), h - 2);

    for (const s of series) {
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 1.6;
      ctx.setLineDash(s.dash ? [4, 3] : []);
      ctx.beginPath();
      let pen = false; // a null value (not measured) is a gap in the line, not a 0
      ts.forEach((t, i) => {
        const v = s.values[i];
        if (v === null) {
          pen = false;
          return;
        }
        const px = x(t), py = y(v);
        if (pen) ctx.lineTo(px, py);
        else ctx.moveTo(px, py);
        pen = true;
      });
      ctx.stroke();
    }
    ctx.setLineDash([]);
  }

  function renderTransport(kind, t, now) {
    const col = columns[kind];
    const hist = history[kind];
    if (!t) {
      col.dataset.state = 'absent';
      setText(col, 'up', 'not running');
      return;
    }
    col.dataset.state = t.up ? 'up' : 'down';
    setText(col, 'up', t.up ? 'up' : 'down');
    setText(col, 'mbps', fmtRate(t.bytesPerSecond));
    // No sink (the decoder reads the pipe itself): the latencies and the sink's checks do not exist.
    const sink = t.sink !== false;
    const notMeasured = 'not measured';
    setText(col, 'p50', sink ? fmtUs(t.handOffP50Us) : notMeasured);
    setText(col, 'p99', sink ? fmtUs(t.handOffP99Us) : notMeasured);
    setText(col, 'dropped', fmtInt(t.dropped));
    setText(col, 'bytes', fmtInt(t.bytes));
    setText(col, 'chunks', fmtInt(t.chunks));
    setText(col, 'e2eP99', sink ? fmtUs(t.endToEndP99Us) : notMeasured);
    setText(col, 'wait', `${t.waitSeconds.toFixed(3)} s`);
    setText(col, 'buffer', `${fmtInt(t.bufferDepth)} (${fmtBytes(t.bufferBytes)})`);
    setText(col, 'restarts', fmtInt(t.restarts));
    setText(col, 'errors', fmtInt(t.handOffErrors));
    setText(col, 'sinkErrors', sink ? `${fmtInt(t.sinkGaps)} / ${fmtInt(t.sinkChecksumErrors)}` : notMeasured);
    col.dataset.bytes = String(t.bytes);

    // null latency: left out of the chart (drawChart skips it), not drawn as 0.
    hist.push({ t: now, bps: t.bytesPerSecond, p50: sink ? t.handOffP50Us : null, p99: sink ? t.handOffP99Us : null, drops: t.droppedPerSecond });
  }

  /** Draws every column's charts on one scale per chart, so the columns compare at a glance. */
  function drawCharts(now) {
    const peak = { bps: 0, p99: 0, drops: 0 };
    for (const kind of TRANSPORTS) {
      const hist = history[kind];
      while (hist.length && hist[0].t < now - WINDOW_MS) hist.shift();
      for (const p of hist) {
        peak.bps = Math.max(peak.bps, p.bps);
        peak.p99 = Math.max(peak.p99, p.p99, p.p50);
        peak.drops = Math.max(peak.drops, p.drops);
      }
    }
    for (const kind of TRANSPORTS) {
      const col = columns[kind];
      const hist = history[kind];
      const ts = hist.map((p) => p.t);
      const color = COLORS[kind];
      drawChart($('[data-chart="throughput"]', col), ts, [{ values: hist.map((p) => p.bps), color }], now, RATE_UNITS, peak.bps);
      drawChart(
        $('[data-chart="latency"]', col),
        ts,
        [
          { values: hist.map((p) => p.p50), color, dash: true },
          { values: hist.map((p) => p.p99), color },
        ],
        now,
        TIME_UNITS,
        peak.p99,
      );
      drawChart($('[data-chart="drops"]', col), ts, [{ values: hist.map((p) => p.drops), color: '#c8323c' }], now, COUNT_UNITS, peak.drops);
    }
  }

  function renderNetwork(n) {
    const root = $('#network');
    if (!n) {
      root.hidden = true;
      return;
    }
    root.hidden = false;
    setText(root, 'mbps', fmtRate(n.bytesPerSecond));
    for (const f of ['chunksReceived', 'lost', 'reordered', 'duplicates', 'corrupt', 'kernelDrops', 'reconnects']) setText(root, f, fmtInt(n[f]));
    setText(root, 'channel', String(n.channel));
    setText(root, 'endOfStream', n.endOfStream ? 'yes' : 'no');
    const reasons = Object.entries(n.decodeErrors).filter(([, v]) => v > 0);
    setText(root, 'decodeErrors', reasons.length ? `corrupt by reason: ${reasons.map(([r, v]) => `${r} ${fmtInt(v)}`).join(', ')}` : '');
  }

  function cell(text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  let lastGuide = '';
  function renderGuide(guide, playing) {
    const key = JSON.stringify([guide, playing]);
    if (key === lastGuide) return;
    lastGuide = key;
    const body = $('#guide-rows');
    body.replaceChildren();
    if (!guide.length) {
      const tr = document.createElement('tr');
      tr.className = 'empty';
      const td = cell('no guide received yet');
      td.colSpan = 4;
      tr.appendChild(td);
      body.appendChild(tr);
      return;
    }
    for (const ch of guide) {
      const tr = document.createElement('tr');
      tr.dataset.channel = String(ch.id);
      if (ch.id === playing) tr.className = 'playing';
      tr.append(cell(String(ch.id)), cell(ch.name), cell(ch.description), cell(fmtBitrate(ch.bitrate), 'num'));
      body.appendChild(tr);
    }
  }

  function renderSender(sender) {
    const root = $('#sender');
    root.hidden = !sender;
    if (!sender) return;
    const body = $('#sender-rows');
    body.replaceChildren();
    for (const o of sender.outputs) {
      const tr = document.createElement('tr');
      tr.dataset.output = o.url;
      tr.append(
        cell(o.url),
        cell(fmtRate(o.bytesPerSecond), 'num'),
        cell(fmtInt(o.chunks), 'num'),
        cell(o.proto === 'tcp' || o.proto === 'srt' ? fmtInt(o.clients) : '—', 'num'),
        cell(o.proto === 'tcp' || o.proto === 'srt' ? fmtInt(o.clientsDropped) : '—', 'num'),
        cell(fmtInt(o.sendErrors), 'num'),
      );
      body.appendChild(tr);
    }
  }

  function renderLinks(links) {
    const root = $('#links');
    root.hidden = !links || links.length === 0;
    if (root.hidden) return;
    const body = $('#link-rows');
    body.replaceChildren();
    for (const l of links) {
      const tr = document.createElement('tr');
      tr.dataset.link = `${l.proto} ${l.role} ${l.peer}`;
      tr.append(
        cell(`${l.proto} ${l.role}${l.up ? '' : ' (ended)'}`),
        cell(l.peer),
        cell(fmtInt(l.role === 'send' ? l.packetsSent : l.packetsReceived), 'num'),
        cell(fmtInt(l.lost), 'num'),
        cell(fmtInt(l.retransmitted), 'num'),
        cell(fmtInt(l.recovered), 'num'),
        cell(fmtInt(l.droppedTooLate), 'num'),
        cell(l.rttMs.toFixed(2), 'num'),
      );
      body.appendChild(tr);
    }
  }

  function render(snap) {
    const now = snap.time;
    const byKind = Object.fromEntries(snap.transports.map((t) => [t.transport, t]));
    for (const kind of TRANSPORTS) renderTransport(kind, byKind[kind], now);
    drawCharts(now);
    renderNetwork(snap.network);
    renderGuide(snap.guide, snap.network ? snap.network.channel : -1);
    renderSender(snap.sender);
    renderLinks(snap.links);
    setText(document, 'updated', `updated ${new Date(now).toLocaleTimeString()}`);
    setText(document, 'version', snap.version ? `v${snap.version}` : '');
    document.body.dataset.snapshots = String(Number(document.body.dataset.snapshots || 0) + 1);
  }

  let retryMs = 500;
  function connect() {
    const status = $('#status');
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
    ws.onopen = () => {
      retryMs = 500;
      status.dataset.state = 'live';
      status.textContent = 'live';
    };
    ws.onmessage = (ev) => {
      try {
        render(JSON.parse(ev.data));
      } catch (err) {
        console.error('ipcast dashboard: bad snapshot', err);
      }
    };
    ws.onclose = () => {
      status.dataset.state = 'closed';
      status.textContent = 'disconnected, retrying';
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
  }

  buildColumns();
  connect();
})();
