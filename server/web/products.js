// Products: the ones the token may see (all for the admin token, its own for an owner token).
import { api, enc } from './api.js';
import { h, ago } from './ui.js';

export async function productsPage(view) {
  const { products } = await api('GET', '/products');
  const rows = products.map((p) => h('tr', { 'data-testid': 'product-row' },
    h('td', {}, h('a', { href: `#/p/${enc(p.product_id)}/rollouts` }, p.product_id)),
    h('td', {}, p.name),
    h('td', {}, p.version_rule),
    h('td', { class: 'muted', title: p.key_hash }, p.key_hash.slice(0, 16) + '…'),
    h('td', {}, ago(p.created_at)),
    h('td', {}, h('a', { href: `#/p/${enc(p.product_id)}/releases` }, 'releases'), ' · ',
      h('a', { href: `#/p/${enc(p.product_id)}/rollouts` }, 'rollouts'), ' · ',
      h('a', { href: `#/p/${enc(p.product_id)}/devices` }, 'devices'))));
  view.replaceChildren(h('h1', {}, 'Products'),
    products.length ? h('table', {}, h('tr', {}, ...['product', 'name', 'versions', 'signing key', 'created', '']
      .map((t) => h('th', {}, t))), rows)
      : h('p', { class: 'muted' }, 'No product yet: create one with `otakit product create` (admin token).'));
}
