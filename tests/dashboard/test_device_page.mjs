// The device's own update page (AutoConnect's UPDATE menu, device/net/update_page.c, served by the
// push server of otakit-device) in Debian's chromium, headless, driven by Playwright.
//
// A simulated device (the real bootloader and agent against a real otakit-server) serves its push
// endpoints with Basic credentials and lists the catalog of an update server that answers as
// AutoConnect's own (Hieromon/AutoConnect src/updateserver/python3/updateserver.py, f21f57d4:
// GET /_catalog?op=list&path=P, downloads only with the ESP updater's headers, x-MD5). A person opens
// the page (refused without the credentials), picks the binary, presses UPDATE, watches the
// progress bar move while the device pulls it with real flash timings, and sees the page say which
// version runs once the device has reset into it. Screenshots go to $OTAKIT_ARTIFACTS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const SERVER = path.resolve(process.env.OTAKIT_SERVER || 'build/test/server/otakit-server');
const CLI = path.resolve(process.env.OTAKIT_CLI || 'build/test/tools/otakit');
const DEVICE = path.resolve(process.env.OTAKIT_DEVICE || 'build/test/tools/sim/otakit-device');
const BROWSER = process.env.OTAKIT_CHROMIUM || '/usr/bin/chromium';
const PRODUCT = 'page-thermo';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'otakit-page-'));
const shots = process.env.OTAKIT_ARTIFACTS || path.join(tmp, 'screenshots');
fs.mkdirSync(shots, { recursive: true });
const CREDS = { username: 'admin', password: 'page-s3cret' };

let server, device, catalog, browser, url, pushPort, devLog = '';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const run = (cmd, args) => execFileSync(cmd, args, { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });

async function until(what, ms, fn) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v) return v;
    await sleep(100);
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}\n${devLog}`);
}

const freePort = () => new Promise((res) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
});

// updateserver.py's behaviour over <tmp>/catalog: "bin" for .bin files starting with 0xE9, else
// "file"; any other GET needs the ESP updater's User-Agent and headers (403 without).
function updateServer(root) {
  const NEED = ['sta-mac', 'ap-mac', 'free-space', 'sketch-size', 'sketch-md5', 'chip-size', 'sdk-version'];
  return http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    if (u.pathname === '/_catalog') {
      const dir = path.join(root, path.normalize(u.searchParams.get('path') || '.').replace(/^\/+/, ''));
      if (u.searchParams.get('op') !== 'list' || !dir.startsWith(root) || !fs.existsSync(dir)) { res.writeHead(403); return res.end(); }
      const list = fs.readdirSync(dir).map((name) => {
        const data = fs.readFileSync(path.join(dir, name));
        return name.endsWith('.bin') && data[0] === 0xe9 ? { name, type: 'bin', size: data.length } : { name, type: 'file' };
      });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify(list));
    }
    const arch = { 'ESP8266-http-Update': 'esp8266', 'ESP32-http-Update': 'esp32' }[req.headers['user-agent']];
    if (!arch || NEED.some((n) => !(`x-${arch}-${n}` in req.headers))) { res.writeHead(403); return res.end(); }
    const file = path.join(root, u.pathname);
    if (!file.startsWith(root) || !fs.existsSync(file)) { res.writeHead(500); return res.end(); }
    const data = fs.readFileSync(file);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': data.length,
      'Content-Disposition': 'attachment; filename=' + path.basename(file),
      'x-MD5': crypto.createHash('md5').update(data).digest('hex') });
    res.end(data);
  });
}

before(async () => {
  const log = fs.openSync(path.join(tmp, 'server.log'), 'w');
  server = spawn(SERVER, ['--listen', '127.0.0.1:0', '--data', path.join(tmp, 'data')], { stdio: ['ignore', log, log] });
  url = await until('the server to start', 10000, () => {
    const m = /otakit-server started" url=(\S+)/.exec(fs.readFileSync(path.join(tmp, 'server.log'), 'utf8'));
    return m && m[1];
  });
  const admin = fs.readFileSync(path.join(tmp, 'data', 'admin.token'), 'utf8').trim();
  run(CLI, ['keygen', '-k', 'k.pem', '--pub', 'k.pub.pem']);
  const r = await fetch(url + '/api/v1/products', { method: 'POST', headers: { Authorization: 'Bearer ' + admin,
    'Content-Type': 'application/json' }, body: JSON.stringify({ product_id: PRODUCT, name: 'Page Thermostat',
    public_key: fs.readFileSync(path.join(tmp, 'k.pub.pem'), 'utf8') }) });
  assert.equal(r.status, 201);
  const enroll = (await r.json()).enroll_token;
  fs.mkdirSync(path.join(tmp, 'catalog', 'fw'), { recursive: true });
  for (const v of ['1.0.0', '2.0.0']) {
    run(DEVICE, ['mkfw', '--version', v, '--behaviour', 'healthy', '--size', '98304', `fw-${v}.bin`]);
    run(CLI, ['sign', '-k', 'k.pem', '-v', v, '--product', PRODUCT, `fw-${v}.bin`, `fw-${v}.img`]);
  }
  fs.copyFileSync(path.join(tmp, 'fw-2.0.0.img'), path.join(tmp, 'catalog', 'fw', 'thermo-2.0.0.bin'));
  fs.writeFileSync(path.join(tmp, 'catalog', 'fw', 'notes.txt'), 'not a binary');
  catalog = updateServer(path.join(tmp, 'catalog'));
  await new Promise((res) => catalog.listen(0, '127.0.0.1', res));
  pushPort = await freePort();
  device = spawn(DEVICE, ['--server', url, '--enroll', enroll, '--id', 'page-dev', '--dir', path.join(tmp, 'dev'),
    '--key', 'k.pub.pem', '--product', PRODUCT, '--factory', 'fw-1.0.0.img', '--poll', '60', '--slow',
    '--commit-window', '5000', '--push', String(pushPort),
    '--push-basic', Buffer.from(`${CREDS.username}:${CREDS.password}`).toString('base64'),
    '--catalog', `http://127.0.0.1:${catalog.address().port}/fw`], { cwd: tmp });
  device.stdout.on('data', (b) => { devLog += b; });
  device.stderr.on('data', (b) => { devLog += b; });
  await until('the device to serve its push endpoints', 30000, () => devLog.includes(`push endpoints on tcp port ${pushPort}`));
  browser = await chromium.launch({ executablePath: BROWSER, headless: true, args: ['--no-sandbox'] });
});

after(async () => {
  if (browser) await browser.close();
  for (const p of [device, server]) if (p && p.exitCode === null) p.kill('SIGTERM');
  if (catalog) catalog.close();
  if (process.env.OTAKIT_KEEP) console.log(devLog);
});

test('the update page needs the push server\'s credentials', async () => {
  const base = `http://127.0.0.1:${pushPort}`;
  const page = await fetch(base + '/_ac/update');
  assert.equal(page.status, 401);
  assert.equal(page.headers.get('www-authenticate'), 'Basic realm="Login Required"');
  const act = await fetch(base + '/_ac/update_act', { method: 'POST', body: 'name=thermo-2.0.0.bin' });
  assert.equal(act.status, 401);
  const wrong = await fetch(base + '/_ac/update', { headers: { Authorization: 'Basic ' + Buffer.from('admin:nope').toString('base64') } });
  assert.equal(wrong.status, 401);
});

test('a person picks a binary from the catalog, watches the progress and the device resets into it', async () => {
  const ctx = await browser.newContext({ httpCredentials: CREDS, viewport: { width: 760, height: 520 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => { throw e; });
  await page.goto(`http://127.0.0.1:${pushPort}/_ac/update`);
  await page.locator('#run').filter({ hasText: '1.0.0' }).waitFor();
  const row = page.locator('#cat tr').filter({ hasText: 'thermo-2.0.0.bin' });
  await row.waitFor();
  assert.equal(await page.locator('#cat tr').count(), 1); // notes.txt is not a binary
  await row.locator('input[type=radio]').check();
  await page.click('#go');
  // Live progress: the bar moves while the device pulls (real flash timings).
  const seen = await until('the progress bar to move', 30000, async () => {
    const v = await page.locator('#bar').evaluate((b) => b.value);
    return v >= 20 && v <= 90 ? v : 0;
  });
  assert.match(await page.locator('#msg').innerText(), /Updating thermo-2\.0\.0\.bin: \d+ \/ \d+ bytes/);
  await page.screenshot({ path: path.join(shots, 'device-update-page-progress.png') });
  // The device verifies the image, resets, the bootloader swaps, the new image runs: the page says so.
  await page.locator('#msg').filter({ hasText: 'Updated: now running 2.0.0' }).waitFor({ timeout: 90000 });
  assert.equal(await page.locator('#run').innerText(), '2.0.0+0');
  await page.screenshot({ path: path.join(shots, 'device-update-page.png') });
  assert.ok(seen > 0);
  await until('the agent to confirm 2.0.0', 30000, () => devLog.includes('self-test passed: confirmed 2.0.0'));
  assert.ok(devLog.includes('update page: thermo-2.0.0.bin verified, resetting'), devLog);
  await ctx.close();
});
