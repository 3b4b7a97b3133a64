// Devices: search, filters (version, state, group, hardware), paging with the total, and one
// device's details, its history and its commands, each paged with its total (queue a command; give
// or refuse the user's consent).
import { api, enc } from './api.js';
import { h, ago, badge, toast, errText, pager } from './ui.js';

const PAGE = 50;

export async function devicesPage(view, ctx, pid, params) {
  const f = {};
  const field = (name, text, size) => h('label', {}, text, (f[name] = h('input', { name, size, value: params.get(name) || '',
    'data-testid': 'filter-' + name })));
  const state = (f.state = h('select', { name: 'state', 'data-testid': 'filter-state' },
    ['', 'registered', 'idle', 'updating', 'failed'].map((s) => h('option', { value: s, selected: s === (params.get('state') || '') },
      s || 'any state'))));
  const offset = Number(params.get('offset') || 0);
  const apply = (off) => {
    const q = new URLSearchParams();
    for (const [k, e] of Object.entries(f)) if (e.value.trim()) q.set(k, e.value.trim());
    if (off) q.set('offset', off);
    ctx.go(`#/p/${enc(pid)}/devices?${q}`);
  };
  const form = h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); apply(0); } },
    field('q', 'Device id', 18), field('version', 'Version', 10), h('label', {}, 'State', state), field('group', 'Group', 10),
    field('hw_rev', 'Hardware', 10), h('button', { type: 'submit' }, 'Filter'));
  const out = h('div');
  view.replaceChildren(h('h1', {}, `${pid}: devices`), form, out);
  await ctx.live(3000, async () => {
    const q = new URLSearchParams({ limit: PAGE, offset });
    for (const k of ['q', 'version', 'state', 'group', 'hw_rev']) if (params.get(k)) q.set(k, params.get(k));
    const { devices, total } = await api('GET', `/products/${enc(pid)}/devices?${q}`);
    out.replaceChildren(h('table', { 'data-testid': 'devices' },
      h('tr', {}, ...['device', 'version', 'state', 'hardware', 'groups', 'last seen', 'joined'].map((t) => h('th', {}, t))),
      devices.map((d) => h('tr', { 'data-testid': 'device-row' },
        h('td', {}, h('a', { href: `#/p/${enc(pid)}/devices/${enc(d.device_id)}` }, d.device_id)),
        h('td', {}, d.version), h('td', {}, badge(d.state)), h('td', {}, d.hw_rev), h('td', {}, d.groups.join(', ')),
        h('td', {}, ago(d.last_seen)), h('td', {}, ago(d.created_at))))),
    pager(offset, devices.length, total, PAGE, apply, 'devices-total', 'no device matches'));
  });
}

export async function devicePage(view, ctx, pid, did) {
  const base = `/products/${enc(pid)}/devices/${enc(did)}`;
  const { releases } = await api('GET', `/products/${enc(pid)}/releases`);
  const info = h('div'), cmds = h('div'), hist = h('div');
  const rel = h('select', {}, h('option', { value: '' }, 'reboot'), releases.map((r) => h('option', { value: r.version }, 'upgrade to ' + r.version)));
  const consent = h('input', { type: 'checkbox' });
  const queue = h('form', {
    class: 'row', 'data-testid': 'command-form',
    onsubmit: async (e) => {
      e.preventDefault();
      const body = rel.value ? { type: 'upgrade', release: rel.value, consent: consent.checked } : { type: 'reboot' };
      try { await api('POST', `${base}/commands`, body); toast('Command queued'); } catch (err) { toast(errText(err), true); }
    },
  }, rel, h('label', {}, consent, 'ask the user first (consent)'), h('button', { class: 'primary', type: 'submit' }, 'Queue'));
  const groups = h('input', { size: 30, title: 'comma-separated, e.g. lab, ring-1', 'data-testid': 'groups-input' });
  const groupForm = h('form', {
    class: 'row', 'data-testid': 'groups-form',
    onsubmit: async (e) => {
      e.preventDefault();
      const list = groups.value.split(',').map((x) => x.trim()).filter(Boolean);
      try { await api('PATCH', base, { groups: list }); toast('Groups set'); } catch (err) { toast(errText(err), true); }
    },
  }, h('label', {}, 'Groups', groups), h('button', { type: 'submit' }, 'Set groups'));
  const decide = (id, granted) => async () => {
    try { await api('POST', `${base}/commands/${id}/consent`, { granted }); toast(granted ? 'Consent given' : 'Declined'); } catch (e) { toast(errText(e), true); }
  };
  let groupsShown = false, cmdOff = 0, histOff = 0; // the pages of commands and history shown
  const SMALL = 20;
  view.replaceChildren(info, groupForm, h('section', { class: 'card' }, h('h2', {}, 'Commands'), queue, cmds),
    h('section', { class: 'card' }, h('h2', {}, 'History'), hist));
  await ctx.live(2000, async () => {
    const d = await api('GET', base);
    const cl = await api('GET', `${base}/commands?limit=${SMALL}&offset=${cmdOff}`);
    const ev = await api('GET', `${base}/events?limit=${SMALL}&offset=${histOff}`);
    if (!groupsShown) { groups.value = d.groups.join(', '); groupsShown = true; } // never under the typing
    info.replaceChildren(h('h1', {}, `${d.device_id} `, badge(d.state)),
      h('p', {}, `version ${d.version || '?'} · slot ${d.slot} · hardware ${d.hw_rev || '?'} · security counter ${d.security_counter}` +
        ` · groups ${d.groups.join(', ') || 'none'} · joined via ${d.via} · last seen `, ago(d.last_seen)));
    cmds.replaceChildren(cl.commands.length ? h('table', { 'data-testid': 'commands' },
      h('tr', {}, ...['#', 'type', 'release', 'status', 'consent', 'queued', ''].map((t) => h('th', {}, t))),
      cl.commands.map((c) => h('tr', {}, h('td', {}, c.id), h('td', {}, c.type), h('td', {}, c.release || ''),
        h('td', {}, badge(c.status)), h('td', {}, c.consent || ''), h('td', {}, ago(c.created_at)),
        h('td', {}, c.consent === 'pending' ? [h('button', { onclick: decide(c.id, true) }, 'Give consent'), ' ',
          h('button', { class: 'danger', onclick: decide(c.id, false) }, 'Decline')] : ''))))
      : h('p', { class: 'muted' }, 'No command.'),
    pager(cmdOff, cl.commands.length, cl.total, SMALL, (o) => { cmdOff = o; ctx.refresh(); }, 'commands-total', 'no command'));
    hist.replaceChildren(h('table', { 'data-testid': 'history' },
      h('tr', {}, h('th', {}, 'when'), h('th', {}, 'event'), h('th', {}, 'detail')),
      ev.events.map((e) => h('tr', {}, h('td', {}, ago(e.at)), h('td', {}, e.kind),
        h('td', { class: 'muted' }, Object.keys(e.detail).length ? JSON.stringify(e.detail) : '')))),
    pager(histOff, ev.events.length, ev.total, SMALL, (o) => { histOff = o; ctx.refresh(); }, 'history-total', 'no event'));
  });
}
