// The dashboard's shell: login, the hash router (#/p/PRODUCT/rollouts/3), the navigation, and the
// timer of the page on screen (live pages re-render every second or two while they are shown).
import { api, token } from './api.js';
import { h, toast, errText } from './ui.js';
import { productsPage } from './products.js';
import { releasesPage } from './releases.js';
import { rolloutsPage, rolloutPage } from './rollouts.js';
import { devicesPage, devicePage } from './devices.js';

const main = document.getElementById('main');
let timer = null;   // the live page's refresh
let gen = 0;        // bumped on each navigation: a late answer for an old page is dropped

export const ctx = {
  // Calls render(el) now and every ms while the page stays on screen.
  live(ms, render) {
    const my = gen;
    const tick = async () => {
      if (my !== gen) return;
      try { await render(); } catch (e) { toast(errText(e), true); }
      if (my === gen) timer = setTimeout(tick, ms);
    };
    ctx.refresh = () => { clearTimeout(timer); tick(); };
    return tick();
  },
  // Renders the live page again now (after the user moved to another page of one of its lists).
  refresh: () => {},
  current: () => gen,
  go: (hash) => { location.hash = hash; },
};

function loginPage() {
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'off', 'aria-label': 'admin or owner token' });
  const msg = h('p', { class: 'err', 'data-testid': 'login-error' });
  const form = h('form', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      token.set(input.value.trim());
      try {
        await api('GET', '/products?limit=1');
        location.hash = '#/products';
      } catch (e) {
        token.clear();
        msg.textContent = errText(e);
      }
    },
  }, h('h1', {}, 'Log in to otakit'),
    h('p', { class: 'muted' }, 'Paste the admin token (DATA/admin.token) or a product\'s owner token. ' +
      'It is kept in this tab only and sent as a bearer token to this server.'),
    input, h('button', { class: 'primary', type: 'submit' }, 'Log in'), msg);
  return h('section', { class: 'card login' }, form);
}

function nav(pid) {
  const n = document.getElementById('nav');
  n.replaceChildren(h('a', { href: '#/products' }, 'Products'));
  if (pid) {
    for (const [k, t] of [['releases', 'Releases'], ['rollouts', 'Rollouts'], ['devices', 'Devices']])
      n.append(h('a', { href: `#/p/${encodeURIComponent(pid)}/${k}`, class: location.hash.includes('/' + k) ? 'active' : '' },
        `${pid}: ${t}`));
  }
}

async function route() {
  gen++;
  clearTimeout(timer);
  const logout = document.getElementById('logout');
  const hash = location.hash.replace(/^#/, '') || '/products';
  const [path, query] = hash.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query || '');
  if (!token.get() || parts[0] === 'login') {
    logout.hidden = true;
    document.getElementById('who').textContent = '';
    nav(null);
    main.replaceChildren(loginPage());
    document.getElementById('token').focus();
    return;
  }
  logout.hidden = false;
  const pid = parts[0] === 'p' ? parts[1] : null;
  nav(pid);
  const view = h('div');
  main.replaceChildren(view);
  try {
    if (!pid) await productsPage(view, ctx, params);
    else if (parts[2] === 'releases') await releasesPage(view, ctx, pid);
    else if (parts[2] === 'rollouts' && parts[3]) await rolloutPage(view, ctx, pid, parts[3]);
    else if (parts[2] === 'rollouts') await rolloutsPage(view, ctx, pid);
    else if (parts[2] === 'devices' && parts[3]) await devicePage(view, ctx, pid, parts[3]);
    else if (parts[2] === 'devices') await devicesPage(view, ctx, pid, params);
    else await rolloutsPage(view, ctx, pid);
  } catch (e) {
    if (e.status === 401) { token.clear(); location.hash = '#/login'; return; }
    view.replaceChildren(h('p', { class: 'err', 'data-testid': 'page-error' }, errText(e)));
  }
}

document.getElementById('logout').addEventListener('click', () => { token.clear(); location.hash = '#/login'; });
window.addEventListener('hashchange', route);
route();
