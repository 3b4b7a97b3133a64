// Products: the ones the token may see (all for the admin token, its own for an owner token),
// with buttons that rotate the product's tokens (the new one is shown once, here).
import { api, enc } from './api.js';
import { h, ago, toast, errText, pager } from './ui.js';

const PAGE = 50;

// kind 'owner' (admin token only) or 'enroll' (owner or admin): the old token stops working at once.
function rotateButton(pid, kind, shown) {
  const label = kind === 'owner' ? 'new owner token' : 'new enrollment token';
  return h('button', {
    'data-testid': `rotate-${kind}`,
    onclick: async () => {
      if (!confirm(`Replace the ${kind} token of ${pid}? The old one stops working at once.`)) return;
      try {
        const r = await api('POST', `/products/${enc(pid)}/${kind}-token`);
        shown.replaceChildren(h('p', {}, `${pid}: the ${label} (shown once, copy it now): `,
          h('code', { 'data-testid': 'new-token' }, r[`${kind}_token`])));
      } catch (e) { toast(errText(e), true); }
    },
  }, label);
}

export async function productsPage(view, ctx, params) {
  const offset = Number(params.get('offset') || 0);
  const { products, total } = await api('GET', `/products?limit=${PAGE}&offset=${offset}`);
  const shown = h('div', { class: 'new-token' });
  const rows = products.map((p) => h('tr', { 'data-testid': 'product-row' },
    h('td', {}, h('a', { href: `#/p/${enc(p.product_id)}/rollouts` }, p.product_id)),
    h('td', {}, p.name),
    h('td', {}, p.version_rule),
    h('td', { class: 'muted', title: p.key_hash || '' }, p.key_hash ? p.key_hash.slice(0, 16) + '…' : 'none (ESP images only)'),
    h('td', {}, ago(p.created_at)),
    h('td', {}, h('a', { href: `#/p/${enc(p.product_id)}/releases` }, 'releases'), ' · ',
      h('a', { href: `#/p/${enc(p.product_id)}/rollouts` }, 'rollouts'), ' · ',
      h('a', { href: `#/p/${enc(p.product_id)}/devices` }, 'devices')),
    h('td', {}, rotateButton(p.product_id, 'enroll', shown), ' ', rotateButton(p.product_id, 'owner', shown))));
  view.replaceChildren(h('h1', {}, 'Products'), shown,
    products.length ? h('table', {}, h('tr', {}, ...['product', 'name', 'versions', 'signing key', 'created', '', 'tokens']
      .map((t) => h('th', {}, t))), rows)
      : h('p', { class: 'muted' }, 'No product yet: create one with `otakit product create` (admin token).'),
    pager(offset, products.length, total, PAGE, (o) => ctx.go(`#/products?offset=${o}`), 'products-total', ''));
}
