// The fleet's version distribution over time as a stacked area chart in SVG (no library: a few
// dozen points and a handful of versions need nothing more).
import { h } from './ui.js';

const NS = 'http://www.w3.org/2000/svg';
const COLORS = ['#2f6fdf', '#2e9e5b', '#d99a1e', '#8e5bd6', '#d64545', '#1aa3a3', '#7a869a', '#c2185b'];
const s = (tag, attrs) => {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
};

// series: [{at, versions: {v: n}}]. Returns a <div> with the chart and its legend.
export function versionChart(series) {
  const W = 800, H = 220, L = 36, B = 22, T = 8, R = 8;
  const versions = [...new Set(series.flatMap((p) => Object.keys(p.versions)))].sort();
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', 'data-testid': 'version-chart' });
  const max = Math.max(1, ...series.map((p) => Object.values(p.versions).reduce((a, b) => a + b, 0)));
  const t0 = series.length ? series[0].at : 0, t1 = series.length ? series[series.length - 1].at : 1;
  const x = (t) => L + (W - L - R) * (t1 > t0 ? (t - t0) / (t1 - t0) : 1);
  const y = (n) => H - B - (H - B - T) * n / max;
  svg.append(s('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#d9dee7' }));
  for (const n of [0, Math.round(max / 2), max]) {
    const t = s('text', { x: L - 4, y: y(n) + 4, 'text-anchor': 'end' });
    t.textContent = n;
    svg.append(t);
  }
  const base = series.map(() => 0);
  versions.forEach((v, i) => {
    const top = series.map((p, k) => base[k] + (p.versions[v] || 0));
    const pts = series.map((p, k) => `${x(p.at).toFixed(1)},${y(top[k]).toFixed(1)}`)
      .concat(series.map((p, k) => `${x(p.at).toFixed(1)},${y(base[k]).toFixed(1)}`).reverse());
    const poly = s('polygon', { points: pts.join(' '), fill: COLORS[i % COLORS.length], 'fill-opacity': '0.8',
      'data-version': v });
    const title = s('title', {});
    title.textContent = v;
    poly.append(title);
    svg.append(poly);
    top.forEach((n, k) => { base[k] = n; });
  });
  for (const [t, anchor] of [[t0, 'start'], [t1, 'end']]) {
    const lab = s('text', { x: x(t), y: H - 6, 'text-anchor': anchor });
    lab.textContent = series.length ? new Date(t * 1000).toISOString().slice(11, 19) + ' UTC' : '';
    svg.append(lab);
  }
  const leg = h('div', { class: 'legend' }, versions.map((v, i) => {
    const sw = h('i');
    sw.style.background = COLORS[i % COLORS.length];
    return h('span', {}, sw, v || '(unknown)');
  }));
  return h('div', {}, svg, leg);
}
