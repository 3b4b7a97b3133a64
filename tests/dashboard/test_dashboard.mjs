// The dashboard in a real browser: Debian's chromium, headless, driven by Playwright
// (playwright-core from npm, pointed at /usr/bin/chromium: nothing downloaded at run time).
//
// One operator's session against a real otakit-server and a fleet of simulated devices
// (otakit-device --fleet: the real bootloader and agent): log in with the admin token, upload a
// release by drag and drop (and see a tampered image refused in the server's words), start a staged
// rollout from the form, watch the devices move through its stages live, pause it, check what the
// page shows against the API, resume it to the end, then find the devices with the filters and read
// one device's history. Screenshots go to $OTAKIT_ARTIFACTS (default: a temp directory).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const SERVER = path.resolve(process.env.OTAKIT_SERVER || 'build/test/server/otakit-server');
const CLI = path.resolve(process.env.OTAKIT_CLI || 'build/test/tools/otakit');
const DEVICE = path.resolve(process.env.OTAKIT_DEVICE || 'build/test/tools/sim/otakit-device');
const BROWSER = process.env.OTAKIT_CHROMIUM || '/usr/bin/chromium';
const PRODUCT = 'dash-thermo';
const FLEET = 5;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'otakit-dash-'));
const shots = process.env.OTAKIT_ARTIFACTS || path.join(tmp, 'screenshots');
fs.mkdirSync(shots, { recursive: true });

let server, fleet, browser, page, url, admin, enroll;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function api(method, p, body, tok = admin) {
  const headers = { Authorization: 'Bearer ' + tok };
  if (body !== undefined && !(body instanceof Uint8Array)) headers['Content-Type'] = 'application/json';
  const res = await fetch(url + '/api/v1' + p, {
    method, headers, body: body === undefined ? undefined : body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

// Polls fn until it returns a truthy value (returned) or ms pass (fails with what).
async function until(what, ms, fn) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await sleep(200);
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}`);
}

const run = (cmd, args) => execFileSync(cmd, args, { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });

before(async () => {
  // Server on a free loopback port, its own data directory.
  const log = fs.openSync(path.join(tmp, 'server.log'), 'w');
  server = spawn(SERVER, ['--listen', '127.0.0.1:0', '--data', path.join(tmp, 'data')], { stdio: ['ignore', log, log] });
  url = await until('the server to start', 10000, () => {
    const m = /otakit-server started" url=(\S+)/.exec(fs.readFileSync(path.join(tmp, 'server.log'), 'utf8'));
    return m && m[1];
  });
  admin = fs.readFileSync(path.join(tmp, 'data', 'admin.token'), 'utf8').trim();
  // Signing key, product, firmware: 1.0.0 in the factory slot, 1.1.0 to roll out.
  run(CLI, ['keygen', '-k', 'k.pem', '--pub', 'k.pub.pem']);
  const p = await api('POST', '/products', { product_id: PRODUCT, name: 'Dashboard Thermostat',
    public_key: fs.readFileSync(path.join(tmp, 'k.pub.pem'), 'utf8') });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  enroll = p.body.enroll_token;
  for (const v of ['1.0.0', '1.1.0']) {
    run(DEVICE, ['mkfw', '--version', v, '--behaviour', 'healthy', '--size', '32768', `fw-${v}.bin`]);
    run(CLI, ['sign', '-k', 'k.pem', '-v', v, '--security-counter', '1', '--product', PRODUCT, `fw-${v}.bin`, `fw-${v}.img`]);
  }
  const bad = fs.readFileSync(path.join(tmp, 'fw-1.1.0.img'));
  bad[5000] ^= 0xff;
  fs.writeFileSync(path.join(tmp, 'tampered.img'), bad);
  // The fleet checks in every 2 s; it registers now, so the rollout made later targets it.
  fleet = spawn(DEVICE, ['--server', url, '--enroll', enroll, '--id', 'dev', '--dir', path.join(tmp, 'fleet'),
    '--key', 'k.pub.pem', '--product', PRODUCT, '--factory', 'fw-1.0.0.img', '--fleet', String(FLEET), '--poll', '2',
    '--commit-window', '1000'], { cwd: tmp, stdio: ['ignore', fs.openSync(path.join(tmp, 'fleet.log'), 'w'), 'inherit'] });
  await until(`${FLEET} devices to register and check in`, 20000, async () => {
    const d = await api('GET', `/products/${PRODUCT}/devices?state=idle`);
    return d.body.total === FLEET;
  });
  browser = await chromium.launch({ executablePath: BROWSER, headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => { throw e; });
});

after(async () => {
  if (browser) await browser.close();
  for (const p of [fleet, server]) if (p && p.exitCode === null) p.kill('SIGTERM');
  if (!process.env.OTAKIT_KEEP) fs.rmSync(path.join(tmp, 'fleet'), { recursive: true, force: true });
});

const text = (sel) => page.locator(sel).first().innerText();
const count = async (state) => Number((await page.getByTestId('count-' + state).locator('b').innerText()).trim());

test('login keeps the token in the tab only and refuses a wrong one', async () => {
  await page.goto(url + '/');
  assert.match(page.url(), /\/ui\/$/);
  await page.fill('#token', 'not-a-token-of-this-server');
  await page.click('button[type=submit]');
  await page.getByTestId('login-error').filter({ hasText: 'unauthorized' }).waitFor();
  await page.fill('#token', admin);
  await page.click('button[type=submit]');
  await page.getByTestId('product-row').filter({ hasText: PRODUCT }).waitFor();
  const stored = await page.evaluate(() => ({ s: sessionStorage.getItem('otakit.token'), l: localStorage.length, c: document.cookie }));
  assert.deepEqual(stored, { s: admin, l: 0, c: '' });
});

// Drops a file from the test's directory onto the drop zone, as a person dragging it would.
async function dropFile(name) {
  const b64 = fs.readFileSync(path.join(tmp, name)).toString('base64');
  await page.getByTestId('dropzone').evaluate((zone, [n, data]) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], n, { type: 'application/octet-stream' }));
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, [name, b64]);
}

test('a release uploads by drag and drop with a progress bar; a tampered one is refused in the server\'s words', async () => {
  await page.goto(`${url}/ui/#/p/${PRODUCT}/releases`);
  await page.getByTestId('dropzone').waitFor();
  // What the API says of the tampered image is what the page must say.
  const refused = await api('POST', `/products/${PRODUCT}/releases?filename=tampered.img`,
    new Uint8Array(fs.readFileSync(path.join(tmp, 'tampered.img'))));
  assert.equal(refused.status, 400);
  await dropFile('tampered.img');
  await page.getByTestId('upload-status').filter({ hasText: 'Refused' }).waitFor();
  const shown = await text('[data-testid=upload-status]');
  assert.ok(shown.includes(refused.body.error.message) && shown.includes(refused.body.error.code), shown);
  await dropFile('fw-1.1.0.img');
  await page.getByTestId('upload-status').filter({ hasText: 'uploaded and checked' }).waitFor();
  assert.equal(await page.getByTestId('upload-progress').evaluate((p) => p.value), 100);
  await page.locator('[data-testid=release-row][data-version="1.1.0+0"]').waitFor();
  const rel = await api('GET', `/products/${PRODUCT}/releases`);
  assert.deepEqual(rel.body.releases.map((r) => r.version), ['1.1.0+0']);
  await page.screenshot({ path: path.join(shots, 'releases.png'), fullPage: true });
});

test('a staged rollout started from the page moves live, pauses, matches the API, and finishes', async () => {
  const reqs = []; // what the page asks for: the rollout must come by its event stream
  const onReq = (q) => reqs.push({ url: q.url(), type: q.resourceType() });
  page.on('request', onReq);
  await page.goto(`${url}/ui/#/p/${PRODUCT}/rollouts`);
  await page.getByTestId('rollout-form').waitFor();
  await page.fill('[data-testid=rollout-stages]', '20,60,100');
  await page.click('[data-testid=rollout-form] button[type=submit]');
  await page.waitForFunction(() => /^#\/p\/dash-thermo\/rollouts\/\d+$/.test(location.hash) ||
    document.querySelector('[data-testid=rollout-error]').textContent);
  assert.equal(await page.evaluate(() => document.querySelector('[data-testid=rollout-error]')?.textContent || ''), '');
  const id = page.url().split('/').pop();
  await page.getByTestId('rollout-state').waitFor();
  await page.locator('[data-live=sse]').waitFor(); // the first event arrived
  assert.ok(reqs.some((q) => q.type === 'eventsource' && q.url.includes(`/rollouts/${id}/stream`)),
    'the page opened an EventSource on the rollout');
  reqs.length = 0;
  // Pause as soon as the first stage starts (seen through the API, which answers at once even when
  // the machine is busy): the later stages take several check-in rounds, so the rollout is still
  // running when the click lands.
  const seen = new Set([await count('confirmed')]);
  await until('the first stage to start', 45000, async () => {
    const c = (await api('GET', `/products/${PRODUCT}/rollouts/${id}`)).body.counts;
    return c.pending < FLEET;
  });
  await page.getByTestId('pause').click();
  await page.getByTestId('rollout-state').filter({ hasText: 'paused' }).waitFor();
  // The change came without a reload and without the page asking for the rollout again: by SSE.
  assert.equal(await page.evaluate(() => window.otakitStream.readyState), 1); // EventSource.OPEN
  const polled = reqs.filter((q) => new URL(q.url).pathname === `/api/v1/products/${PRODUCT}/rollouts/${id}`);
  assert.deepEqual(polled, [], 'the rollout was not polled while its stream was open');
  page.off('request', onReq);
  let r = await api('GET', `/products/${PRODUCT}/rollouts/${id}`);
  assert.equal(r.body.state, 'paused');
  assert.equal(r.body.stages.length, 3);
  assert.deepEqual(r.body.stages.map((s) => s.devices), [1, 2, 2]);
  // Devices already downloading may still finish: wait until the page and the API agree.
  await until('the page to show the API\'s counts', 15000, async () => {
    const a = (await api('GET', `/products/${PRODUCT}/rollouts/${id}`)).body;
    await sleep(1200);
    const b = (await api('GET', `/products/${PRODUCT}/rollouts/${id}`)).body;
    if (JSON.stringify(a.counts) !== JSON.stringify(b.counts)) return false;
    for (const [k, v] of Object.entries(b.counts)) if ((await count(k)) !== v) return false;
    const bar = await page.getByTestId('rollout-bar').evaluate((e) => ({ ...e.dataset }));
    return Number(bar.total) === b.devices && Number(bar.ok) === b.counts.confirmed + b.counts.up_to_date;
  });
  const stageStates = await page.getByTestId('stage-row').evaluateAll((rows) => rows.map((x) => x.children[2].innerText));
  r = await api('GET', `/products/${PRODUCT}/rollouts/${id}`);
  assert.deepEqual(stageStates, r.body.stages.map((s) => s.state));
  await page.screenshot({ path: path.join(shots, 'rollout-paused.png'), fullPage: true });
  // Paused: no new device starts. Resume, and watch it to the end, stage by stage.
  await page.getByTestId('resume').click();
  await until('the rollout to finish on the page', 90000, async () => {
    seen.add(await count('confirmed'));
    return (await text('[data-testid=rollout-state]')) === 'finished';
  });
  seen.add(await count('confirmed'));
  assert.equal(await count('confirmed'), FLEET);
  assert.ok(seen.size >= 3, 'the confirmed count changed on screen, stage by stage: ' + [...seen]);
  assert.ok(await page.getByTestId('pause').isDisabled());
  await page.screenshot({ path: path.join(shots, 'rollout.png'), fullPage: true });
  // The product's rollouts page: the finished rollout and the version chart.
  await page.goto(`${url}/ui/#/p/${PRODUCT}/rollouts`);
  await page.getByTestId('versions-now').filter({ hasText: `${FLEET} on 1.1.0+0` }).waitFor();
  assert.ok(await page.locator('[data-testid=version-chart] polygon[data-version="1.1.0+0"]').count() === 1);
  await page.locator(`[data-testid=rollout-row][data-id="${id}"]`).filter({ hasText: 'finished' }).waitFor();
  await page.screenshot({ path: path.join(shots, 'rollouts.png'), fullPage: true });
});

test('devices: search, filters, paging total, one device\'s history and groups, a queued command', async () => {
  await page.goto(`${url}/ui/#/p/${PRODUCT}/devices`);
  await page.getByTestId('devices-total').filter({ hasText: `of ${FLEET}` }).waitFor();
  await page.fill('[data-testid=filter-q]', 'dev-003');
  await page.fill('[data-testid=filter-version]', '1.1.0+0');
  await page.press('[data-testid=filter-q]', 'Enter');
  await page.getByTestId('devices-total').filter({ hasText: '1–1 of 1' }).waitFor();
  const api1 = await api('GET', `/products/${PRODUCT}/devices?q=dev-003&version=1.1.0%2B0`);
  assert.equal(api1.body.total, 1);
  await page.selectOption('[data-testid=filter-state]', 'failed');
  await page.fill('[data-testid=filter-q]', '');
  await page.press('[data-testid=filter-version]', 'Enter');
  await page.getByTestId('devices-total').filter({ hasText: 'no device matches' }).waitFor();
  await page.goto(`${url}/ui/#/p/${PRODUCT}/devices/dev-003`);
  await page.getByTestId('history').filter({ hasText: 'confirmed' }).waitFor();
  // The operator puts it in a group; the group filter then finds it, and only it.
  await page.fill('[data-testid=groups-input]', 'lab, ring-1');
  await page.click('[data-testid=groups-form] button[type=submit]');
  await page.getByTestId('history').filter({ hasText: 'groups_set' }).waitFor();
  assert.deepEqual((await api('GET', `/products/${PRODUCT}/devices/dev-003`)).body.groups, ['lab', 'ring-1']);
  // Queue a reboot from the page; the device's next check-in takes it.
  await page.selectOption('[data-testid=command-form] select', '');
  await page.click('[data-testid=command-form] button[type=submit]');
  await page.getByTestId('commands').filter({ hasText: 'reboot' }).waitFor();
  const d = await api('GET', `/products/${PRODUCT}/devices/dev-003`);
  assert.equal(d.body.commands[0].type, 'reboot');
  // The history and the commands are paged with their totals, as the API counts them.
  const ev = (await api('GET', `/products/${PRODUCT}/devices/dev-003/events?limit=1`)).body;
  await page.getByTestId('history-total').filter({ hasText: `1–${Math.min(20, ev.total)} of ${ev.total}` }).waitFor();
  if (ev.total > 20) { // the next page of 20
    await page.locator('[data-testid=history] + .pager button', { hasText: 'Next' }).click();
    await page.getByTestId('history-total').filter({ hasText: `21–${Math.min(40, ev.total)} of ${ev.total}` }).waitFor();
  }
  const cl = (await api('GET', `/products/${PRODUCT}/devices/dev-003/commands`)).body;
  await page.getByTestId('commands-total').filter({ hasText: `of ${cl.total}` }).waitFor();
  await page.screenshot({ path: path.join(shots, 'device.png'), fullPage: true });
  await page.goto(`${url}/ui/#/p/${PRODUCT}/devices?group=ring-1`);
  await page.getByTestId('devices-total').filter({ hasText: '1–1 of 1' }).waitFor();
  assert.equal(await page.getByTestId('device-row').count(), 1);
});

test('the products page rotates the enrollment token: shown once, the old one refused', async () => {
  await page.goto(`${url}/ui/#/products`);
  const all = (await api('GET', '/products')).body;
  await page.getByTestId('products-total').filter({ hasText: `of ${all.total}` }).waitFor();
  const row = page.getByTestId('product-row').filter({ hasText: PRODUCT });
  page.once('dialog', (d) => d.accept());
  await row.getByTestId('rotate-enroll').click();
  const fresh = (await page.getByTestId('new-token').innerText()).trim();
  assert.match(fresh, /^[0-9a-f]{64}$/);
  const reg = { device_id: 'dash-late', hw_rev: 'rev-a', version: '1.0.0', slot: 0 };
  assert.equal((await api('POST', '/device/register', reg, enroll)).status, 401);
  assert.equal((await api('POST', '/device/register', reg, fresh)).status, 201);
});
