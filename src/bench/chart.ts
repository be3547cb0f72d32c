/**
 * --chart: a self-contained SVG (no scripts, no external fonts or styles). Left panel:
 * full-speed MB/s per transport and chunk size, ipcast (Node + addon) beside the plain-C
 * baseline, memcpy as a dashed reference when it fits the scale. Right panel: paced
 * hand-off latency p99 per transport and chunk size, both writers.
 */
import type { BenchReport, BenchRow } from './types.js';

const COLORS = { node: '#2f6fb3', base: '#a8a8a8', ref: '#c0392b' };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (n === 0) return '0';
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

interface Panel {
  title: string;
  unit: string;
  rows: BenchRow[];
  node: (r: BenchRow) => number;
  base: (r: BenchRow) => number;
  ref?: { value: number; label: string };
}

function panel(p: Panel, x0: number, width: number, height: number): string {
  const top = 60;
  const bottom = height - 70;
  const left = x0 + 60;
  const right = x0 + width - 10;
  const values = p.rows.flatMap((r) => [p.node(r), p.base(r)]).filter(Number.isFinite);
  // One outlier (a latency spike on a busy machine) must not flatten the rest: the scale
  // stops at 4x the median value, and taller bars are clipped with their value on top.
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted[Math.floor(sorted.length / 2)] ?? 1;
  let max = niceMax(Math.min(Math.max(1e-9, ...values), Math.max(mid * 4, 1e-9)));
  const showRef = p.ref && p.ref.value <= max * 1.6;
  if (showRef) max = niceMax(Math.max(max, p.ref!.value));
  const y = (v: number) => bottom - (Math.max(0, v) / max) * (bottom - top);
  const out: string[] = [];
  out.push(`<text x="${(left + right) / 2}" y="28" text-anchor="middle" font-size="15" font-weight="bold">${esc(p.title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5;
    out.push(`<line x1="${left}" x2="${right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="11">${fmt(v)}</text>`);
  }
  out.push(`<text x="${x0 + 14}" y="${(top + bottom) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 ${x0 + 14} ${(top + bottom) / 2})">${esc(p.unit)}</text>`);
  const n = Math.max(1, p.rows.length);
  const group = (right - left) / n;
  const bar = Math.min(40, group * 0.35);
  p.rows.forEach((r, i) => {
    const cx = left + group * (i + 0.5);
    for (const [k, v, color, who] of [
      [0, p.node(r), COLORS.node, 'ipcast'],
      [1, p.base(r), COLORS.base, 'plain C'],
    ] as const) {
      const bx = cx - bar + k * bar;
      const h = Number.isFinite(v) ? bottom - y(Math.min(v, max)) : 0;
      out.push(
        `<rect x="${bx.toFixed(1)}" y="${(bottom - h).toFixed(1)}" width="${(bar - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${color}"><title>${esc(`${r.transport} ${r.chunkBytes} B ${who}: ${fmt(v)} ${p.unit}`)}</title></rect>`,
      );
      const clipped = v > max ? '▲' : '';
      out.push(`<text x="${(bx + bar / 2 - 1).toFixed(1)}" y="${(bottom - h - 4).toFixed(1)}" text-anchor="middle" font-size="9">${clipped}${fmt(v)}</text>`);
    }
    out.push(`<text x="${cx.toFixed(1)}" y="${bottom + 16}" text-anchor="middle" font-size="12" font-weight="bold">${esc(r.transport)}</text>`);
    out.push(`<text x="${cx.toFixed(1)}" y="${bottom + 30}" text-anchor="middle" font-size="11">${r.chunkBytes} B</text>`);
  });
  out.push(`<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);
  if (showRef) {
    const ry = y(p.ref!.value).toFixed(1);
    out.push(`<line x1="${left}" x2="${right}" y1="${ry}" y2="${ry}" stroke="${COLORS.ref}" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${right}" y="${Number(ry) - 4}" text-anchor="end" font-size="11" fill="${COLORS.ref}">${esc(p.ref!.label)}</text>`);
  } else if (p.ref) {
    out.push(`<text x="${right}" y="${top - 6}" text-anchor="end" font-size="11" fill="${COLORS.ref}">${esc(p.ref.label)} (off scale)</text>`);
  }
  return out.join('\n');
}

export function renderChart(report: BenchReport): string {
  const max = report.results.filter((r) => r.mode === 'max');
  const paced = report.results.filter((r) => r.mode === 'paced');
  const perPanel = Math.max(max.length, paced.length, 1);
  const panelWidth = Math.max(420, 90 * perPanel + 80);
  const width = panelWidth * 2 + 20;
  const height = 420;
  const memMBs = report.memcpyBytesPerSecond / 1e6;
  const body = [
    panel(
      { title: 'Full speed (MB/s, higher is better)', unit: 'MB/s', rows: max, node: (r) => r.bytesPerSecond / 1e6, base: (r) => r.baselineBytesPerSecond / 1e6, ref: { value: memMBs, label: `memcpy ${fmt(memMBs)} MB/s` } },
      0,
      panelWidth,
      height,
    ),
    panel(
      { title: `Paced at ${fmt(report.options.rateBitsPerSecond / 1e6)} Mbit/s: hand-off p99 (µs, lower is better)`, unit: 'µs', rows: paced, node: (r) => r.latencyP99Us, base: (r) => r.baselineLatencyP99Us },
      panelWidth + 20,
      panelWidth,
      height,
    ),
  ];
  const legendY = height - 18;
  const legend = [
    `<rect x="70" y="${legendY - 10}" width="12" height="12" fill="${COLORS.node}"/>`,
    `<text x="88" y="${legendY}" font-size="12">ipcast (Node + addon → ipcast-sink)</text>`,
    `<rect x="330" y="${legendY - 10}" width="12" height="12" fill="${COLORS.base}"/>`,
    `<text x="348" y="${legendY}" font-size="12">plain-C baseline (same transport, records and sink)</text>`,
    `<text x="${width - 10}" y="${legendY}" font-size="11" text-anchor="end" fill="#555">${esc(`${report.date} · ${report.machine.nproc} CPUs · ${report.machine.cpu}`)}</text>`,
  ];
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<title>ipcast bench: pipe, shm and msg against plain C</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...body,
    ...legend,
    `</svg>`,
    '',
  ].join('\n');
}
