// Releases: the list, and an upload by drag and drop (or a file picker) with a progress bar. The
// server checks the image as for any upload; its refusal is shown in its own words.
import { api, upload, enc } from './api.js';
import { h, ago, toast, errText } from './ui.js';

const fmtSize = (n) => (n >= 1 << 20 ? (n / 1048576).toFixed(1) + ' MiB' : n >= 1024 ? (n / 1024).toFixed(1) + ' KiB' : n + ' B');

export async function releasesPage(view, ctx, pid) {
  const list = h('div');
  const prog = h('progress', { max: 100, value: 0, 'data-testid': 'upload-progress', hidden: true });
  const status = h('p', { 'data-testid': 'upload-status' });
  const notes = h('input', { size: 40, 'aria-label': 'release notes' });
  const channel = h('select', {}, h('option', {}, 'official'), h('option', {}, 'beta'));
  const picker = h('input', { type: 'file', 'data-testid': 'upload-input' });
  const drop = h('div', { class: 'drop', 'data-testid': 'dropzone' }, 'Drop a signed image here, or ', picker);

  async function refresh() {
    const { releases } = await api('GET', `/products/${enc(pid)}/releases`);
    list.replaceChildren(releases.length ? h('table', { 'data-testid': 'releases' },
      h('tr', {}, ...['version', 'channel', 'security counter', 'size', 'sha256', 'uploaded', 'notes'].map((t) => h('th', {}, t))),
      releases.map((r) => {
        const a = r.artifacts[0] || {};
        return h('tr', { 'data-testid': 'release-row', dataset: { version: r.version } },
          h('td', {}, r.version), h('td', {}, r.channel), h('td', { class: 'num' }, r.security_counter),
          h('td', { class: 'num' }, a.size ? fmtSize(a.size) : ''), h('td', { class: 'muted', title: a.sha256 || '' },
            (a.sha256 || '').slice(0, 12)), h('td', {}, ago(r.created_at)), h('td', {}, r.notes));
      })) : h('p', { class: 'muted' }, 'No release yet.'));
  }

  async function send(file) {
    const q = new URLSearchParams({ filename: file.name.replace(/[^A-Za-z0-9._+()-]/g, '_').slice(0, 128) || 'image.bin',
      channel: channel.value });
    if (notes.value) q.set('notes', notes.value);
    prog.hidden = false;
    prog.value = 0;
    status.className = '';
    status.textContent = `Uploading ${file.name}…`;
    try {
      const rel = await upload(`/products/${enc(pid)}/releases?${q}`, file,
        (sent, total) => { prog.value = total ? Math.round(100 * sent / total) : 0; });
      prog.value = 100;
      status.textContent = `Release ${rel.version} uploaded and checked.`;
      toast(`Release ${rel.version} uploaded`);
      await refresh();
    } catch (e) {
      status.className = 'err';
      status.textContent = 'Refused: ' + errText(e);
    }
  }

  picker.addEventListener('change', () => picker.files[0] && send(picker.files[0]));
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) send(f); else toast('drop a file', true);
  });
  view.replaceChildren(h('h1', {}, `${pid}: releases`),
    h('section', { class: 'card' }, h('h2', {}, 'Upload a release'), h('div', { class: 'row' }, h('label', {}, 'Channel', channel), h('label', {}, 'Notes (optional)', notes)), drop, prog, status),
    list);
  await refresh();
}
