// Rollouts: the product's rollouts with their progress, a form to start one, the fleet's version
// chart, and one rollout's stages, counts by state and devices, live (the rollout by Server-Sent
// Events, the device list polled), with pause/resume/cancel.
import { api, enc, token } from './api.js';
import { h, ago, badge, bar, legend, toast, errText } from './ui.js';
import { versionChart } from './chart.js';

const STATES = ['pending', 'offered', 'downloading', 'downloaded', 'installing', 'installed', 'confirmed',
  'up_to_date', 'failed', 'rolled_back', 'cancelled'];

const stageLabel = (spec) => (spec.percent !== undefined ? `${spec.percent}%`
  : spec.devices ? `${spec.devices.length} named device(s)` : spec.rest ? 'the rest' : JSON.stringify(spec));

function createForm(ctx, pid, releases) {
  const rel = h('select', { name: 'release', 'data-testid': 'rollout-release' },
    releases.map((r) => h('option', { value: r.version }, r.version)));
  const stages = h('input', { name: 'stages', value: '10,50,100', size: 12, 'data-testid': 'rollout-stages',
    title: 'cumulative percentages of the eligible devices; the last is 100' });
  const group = h('input', { name: 'group', size: 14, title: 'only the devices of this group; empty: the whole product' });
  const errs = h('input', { name: 'errors', value: '0.2', size: 4, title: 'pause when this share of a stage fails' });
  const msg = h('span', { class: 'err', 'data-testid': 'rollout-error' });
  return h('form', {
    class: 'row', 'data-testid': 'rollout-form',
    onsubmit: async (e) => {
      e.preventDefault();
      msg.textContent = '';
      const body = { release: rel.value, error_threshold: Number(errs.value) };
      const pct = stages.value.split(',').map((x) => x.trim()).filter(Boolean);
      if (pct.length) body.stages = pct.map((p) => ({ percent: Number(p) }));
      body.target = group.value.trim() ? { group: group.value.trim() } : {};
      try {
        const ro = await api('POST', `/products/${enc(pid)}/rollouts`, body);
        toast(`Rollout ${ro.id} of ${ro.release} started`);
        ctx.go(`#/p/${enc(pid)}/rollouts/${ro.id}`);
      } catch (err) { msg.textContent = errText(err); }
    },
  }, h('label', {}, 'Release', rel), h('label', {}, 'Stages %', stages), h('label', {}, 'Group (optional)', group),
  h('label', {}, 'Pause at failure share', errs), h('button', { class: 'primary', type: 'submit' }, 'Start rollout'), msg);
}

export async function rolloutsPage(view, ctx, pid) {
  const { releases } = await api('GET', `/products/${enc(pid)}/releases`);
  const list = h('div'), chart = h('div');
  view.replaceChildren(h('h1', {}, `${pid}: rollouts`),
    h('section', { class: 'card' }, h('h2', {}, 'Versions in the fleet'), chart),
    h('section', { class: 'card' }, h('h2', {}, 'Start a rollout'),
      releases.length ? createForm(ctx, pid, releases) : h('p', { class: 'muted' }, 'Upload a release first.')),
    list);
  let last = 0;
  await ctx.live(2000, async () => {
    const { rollouts } = await api('GET', `/products/${enc(pid)}/rollouts`);
    list.replaceChildren(h('h2', {}, 'Rollouts'), legend(), rollouts.length ? h('table', { 'data-testid': 'rollouts' },
      h('tr', {}, ...['#', 'release', 'state', 'progress', 'devices', 'started', 'updated'].map((t) => h('th', {}, t))),
      rollouts.map((r) => h('tr', { 'data-testid': 'rollout-row', dataset: { id: r.id } },
        h('td', {}, h('a', { href: `#/p/${enc(pid)}/rollouts/${r.id}` }, r.id)), h('td', {}, r.release),
        h('td', {}, badge(r.state), r.reason ? h('div', { class: 'muted' }, r.reason) : ''),
        h('td', {}, bar(r.counts, r.devices)), h('td', { class: 'num' }, r.devices),
        h('td', {}, ago(r.created_at)), h('td', {}, ago(r.updated_at)))))
      : h('p', { class: 'muted' }, 'No rollout yet.'));
    if (Date.now() - last > 10000) { // the chart is rebuilt from the histories: every 10 s is plenty
      last = Date.now();
      const v = await api('GET', `/products/${enc(pid)}/versions?points=40`);
      chart.replaceChildren(v.now.length ? versionChart(v.series) : h('p', { class: 'muted' }, 'No device yet.'),
        h('p', { class: 'muted', 'data-testid': 'versions-now' },
          'Now: ' + v.now.map((x) => `${x.devices} on ${x.version || '(unknown)'}`).join(', ')));
    }
  });
}

export async function rolloutPage(view, ctx, pid, id) {
  const head = h('div'), stages = h('div'), counts = h('div'), devices = h('div');
  const act = (op) => async () => {
    try {
      await api('POST', `/products/${enc(pid)}/rollouts/${enc(id)}/${op}`);
      toast(`Rollout ${id}: ${op} done`);
    } catch (e) { toast(errText(e), true); }
  };
  const btn = {
    pause: h('button', { 'data-testid': 'pause', onclick: act('pause') }, 'Pause'),
    resume: h('button', { 'data-testid': 'resume', onclick: act('resume') }, 'Resume'),
    cancel: h('button', {
      class: 'danger', 'data-testid': 'cancel',
      onclick: () => confirm(`Cancel rollout ${id}? Offers not yet installing are withdrawn.`) && act('cancel')(),
    }, 'Cancel'),
  };
  view.replaceChildren(head, h('div', { class: 'row' }, btn.pause, btn.resume, btn.cancel),
    h('section', { class: 'card' }, h('h2', {}, 'Counts by state'), counts),
    h('section', { class: 'card' }, h('h2', {}, 'Stages'), legend(), stages),
    h('section', { class: 'card' }, h('h2', {}, 'Devices'), devices));
  const show = (r) => {
    head.replaceChildren(h('h1', {}, `Rollout ${r.id}: ${r.release} `, badge(r.state, 'rollout-state')),
      h('p', { class: 'muted', 'data-testid': 'rollout-reason' }, r.reason ? `Reason: ${r.reason}` : ''),
      h('p', {}, `${r.devices} devices · started `, ago(r.created_at), ' · updated ', ago(r.updated_at),
        ` · pauses at ${Math.round(r.error_threshold * 100)}% failures, advances at ${Math.round(r.success_threshold * 100)}% success`),
      bar(r.counts, r.devices, 'rollout-bar'));
    btn.pause.disabled = r.state !== 'running';
    btn.resume.disabled = r.state !== 'paused';
    btn.cancel.disabled = r.state === 'finished' || r.state === 'cancelled';
    counts.replaceChildren(h('div', { class: 'counts' }, STATES.map((s) =>
      h('div', { 'data-testid': 'count-' + s }, h('b', {}, r.counts[s] || 0), s.replaceAll('_', ' ')))));
    stages.replaceChildren(h('table', {}, h('tr', {}, ...['stage', 'size', 'state', 'progress', 'devices', 'started']
      .map((t) => h('th', {}, t))), r.stages.map((s) => h('tr', { 'data-testid': 'stage-row', dataset: { index: s.index } },
      h('td', {}, s.index + 1), h('td', {}, stageLabel(s.spec)), h('td', {}, badge(s.state)),
      h('td', {}, bar(s.counts, s.devices, 'stage-bar')), h('td', { class: 'num' }, s.devices),
      h('td', {}, s.started_at ? ago(s.started_at) : '')))));
  };
  // The rollout itself arrives as Server-Sent Events (a change shows at once, nothing is asked
  // again); if the stream cannot be opened the page polls it. The device list is polled.
  const my = ctx.current();
  const es = new EventSource(`/api/v1/products/${enc(pid)}/rollouts/${enc(id)}/stream?access_token=${enc(token.get() || '')}`);
  let streamed = false;
  window.otakitStream = es; // for the browser test
  es.addEventListener('rollout', (ev) => {
    if (my !== ctx.current()) { es.close(); return; }
    streamed = true;
    view.dataset.live = 'sse';
    const r = JSON.parse(ev.data);
    show(r);
    if (r.state === 'finished' || r.state === 'cancelled') es.close(); // the server ended it: no reconnect
  });
  es.onerror = () => { if (my !== ctx.current() || es.readyState === EventSource.CLOSED) es.close(); };
  window.addEventListener('hashchange', () => es.close(), { once: true });
  await ctx.live(2000, async () => {
    if (my !== ctx.current()) { es.close(); return; }
    const d = await api('GET', `/products/${enc(pid)}/rollouts/${enc(id)}/devices`);
    if (!streamed || es.readyState === EventSource.CLOSED) show(await api('GET', `/products/${enc(pid)}/rollouts/${enc(id)}`));
    devices.replaceChildren(h('table', { 'data-testid': 'rollout-devices' },
      h('tr', {}, h('th', {}, 'device'), h('th', {}, 'stage'), h('th', {}, 'status')),
      d.devices.slice(0, 500).map((x) => h('tr', {}, h('td', {}, h('a', { href: `#/p/${enc(pid)}/devices/${enc(x.device_id)}` }, x.device_id)),
        h('td', {}, x.stage + 1), h('td', {}, badge(x.status))))),
    d.devices.length > 500 ? h('p', { class: 'muted' }, `first 500 of ${d.devices.length}`) : '');
  });
}
