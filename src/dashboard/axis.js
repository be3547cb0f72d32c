// ipcast dashboard: the value axis of a chart, as a plain script (the page loads it before
// dashboard.js; the tests import it). Ticks are 0, s, 2s, ... with a step s of 1, 2 or 5 times
// a power of ten, 2 to 4 intervals up to the data's peak, and each label has the decimals its
// step needs, so labels are always distinct ("0, 0.05, 0.1", never "0.1, 0.1, 0.0"). A unit
// list scales the values first: the largest unit the peak reaches (88 kB/s, not 0.09 MB/s).
'use strict';

(() => {
  /**
   * peak: the largest value to show (in base units); units: [[factor, label], ...] ascending,
   * or undefined. Returns { factor, unit, max, ticks: [{ value, label }] } where value and max
   * are in base units.
   */
  function axis(peak, units) {
    const list = units && units.length ? units : [[1, '']];
    let [factor, unit] = list[0];
    for (const [f, u] of list) if (peak >= f) [factor, unit] = [f, u];
    const scaled = peak > 0 ? peak / factor : 1;
    const raw = scaled / 3;
    const p = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw * (1 - 1e-9));
    const n = Math.max(1, Math.ceil(scaled / step - 1e-9));
    const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
    const ticks = [];
    for (let i = 0; i <= n; i++) ticks.push({ value: i * step * factor, label: (i * step).toFixed(decimals) });
    return { factor, unit, max: n * step * factor, ticks };
  }

  globalThis.ipcastAxis = { axis };
})();
