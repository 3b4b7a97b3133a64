// Small DOM helpers shared by the pages: an element builder, relative times, state badges,
// the stacked progress bar of a rollout (or a stage), and the toast that shows errors.

// h('td', {class: 'num', onclick: fn}, 'text', child...) -> element. Text is never parsed as HTML.
export function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat()) if (k !== undefined && k !== null && k !== false)
    e.append(k instanceof Node ? k : String(k));
  return e;
}

// "3 min ago", "2 h ago", "just now"; with the exact UTC time as the element's title.
export function ago(ts) {
  if (!ts) return h('span', { class: 'muted' }, 'never');
  const s = Math.max(0, Math.floor(Date.now() / 1000) - ts);
  const txt = s < 10 ? 'just now' : s < 60 ? `${s} s ago` : s < 3600 ? `${Math.floor(s / 60)} min ago`
    : s < 86400 ? `${Math.floor(s / 3600)} h ago` : `${Math.floor(s / 86400)} d ago`;
  return h('span', { title: new Date(ts * 1000).toISOString() }, txt);
}

export const badge = (state, testid) => h('span', { class: 'state ' + state, 'data-testid': testid }, state);

// What the colours of a bar stand for: rollout count names grouped in four.
export const GROUPS = {
  ok: ['confirmed', 'up_to_date'],
  run: ['offered', 'downloading', 'downloaded', 'installing', 'installed'],
  bad: ['failed', 'rolled_back'],
  off: ['cancelled'],
};

export function groupCounts(counts) {
  const g = {};
  for (const [k, names] of Object.entries(GROUPS)) g[k] = names.reduce((n, x) => n + (counts[x] || 0), 0);
  return g;
}

// A stacked bar of counts over total devices; its title and data-* attributes give the numbers.
export function bar(counts, total, testid) {
  const g = groupCounts(counts);
  const b = h('div', { class: 'bar', 'data-testid': testid, dataset: { total, ok: g.ok, run: g.run, bad: g.bad } });
  for (const k of ['ok', 'run', 'bad', 'off']) {
    if (!g[k] || !total) continue;
    const s = h('span', { class: k });
    s.style.width = (100 * g[k] / total).toFixed(2) + '%';
    b.append(s);
  }
  b.title = `${g.ok} done, ${g.run} in progress, ${g.bad} failed, ${g.off} cancelled, ` +
    `${total - g.ok - g.run - g.bad - g.off} pending of ${total}`;
  return b;
}

export function legend() {
  const item = (cls, color, t) => { const i = h('i'); i.style.background = `var(--${color})`; return h('span', { class: cls }, i, t); };
  return h('div', { class: 'legend' }, item('', 'ok', 'confirmed / up to date'), item('', 'run', 'in progress'),
    item('', 'bad', 'failed / rolled back'), item('', 'off', 'cancelled'));
}

let toastTimer;
export function toast(msg, isError) {
  const t = document.getElementById('toast');
  t.textContent = msg;
  t.className = isError ? 'error' : '';
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, isError ? 8000 : 3000);
}

// The message an error shows: the server's own words with its code.
export const errText = (e) => (e.code ? `${e.message} (${e.code})` : String(e.message || e));

// Previous / "A–B of TOTAL" / Next for a list the server pages (limit/offset, "total"); go(offset)
// shows another page.
export function pager(offset, shown, total, size, go, testid, none) {
  return h('div', { class: 'pager' },
    h('button', { disabled: offset === 0, onclick: () => go(Math.max(0, offset - size)) }, '‹ Previous'),
    h('span', { 'data-testid': testid }, total ? `${offset + 1}–${offset + shown} of ${total}` : none),
    h('button', { disabled: offset + shown >= total, onclick: () => go(offset + size) }, 'Next ›'));
}
