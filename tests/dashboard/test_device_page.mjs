// The device's own update page (AutoConnect's UPDATE menu, device/net/update_page.c, served by the
// push server of otakit-device) in Debian's chromium, headless, driven by Playwright.
//
// A simulated device (the real bootloader and agent against a real otakit-server) serves its push
// endpoints with Basic credentials and lists the catalog of an update server that answers as
// AutoConnect's own (Hieromon/AutoConnect src/updateserver/python3/updateserver.py, f21f57d4:
// GET /_catalog?op=list&path=P, downloads only with the ESP updater's headers, x-MD5). A person opens
// the page (refused without the credentials), picks the binary, presses UPDATE, watches the
// progress bar move while the device pulls it with real flash timings, and sees the page say which
// version runs once the device has reset into it.
//
// A second device runs a product of otakit (MCUboot-format) images: its page lists otakit-server's
// catalog for the device (GET /api/v1/device/catalog with its device token: its own product's
// releases only, not another product's), and the same walk through the page pulls the chosen
// release pinned to its SHA-256 with Range resume, verifies it from flash, resets into it and the
// agent confirms it. Screenshots go to $OTAKIT_ARTIFACTS.
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
const OTHER = 'page-other'; // another product on the same server: its releases never reach PRODUCT's devices
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'otakit-page-'));
const shots = process.env.OTAKIT_ARTIFACTS || path.join(tmp, 'screenshots');
fs.mkdirSync(shots, { recursive: true });
const CREDS = { username: 'admin', password: 'page-s3cret' };

let server, device, device2, catalog, browser, url, pushPort, pushPort2, devLog = '', devLog2 = '';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const run = (cmd, args) => execFileSync(cmd, args, { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });

async function until(what, ms, fn) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v) return v;
    await sleep(100);
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}\n${devLog}\n${devLog2}`);
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
  const mkProduct = async (id) => {
    const r = await fetch(url + '/api/v1/products', { method: 'POST', headers: { Authorization: 'Bearer ' + admin,
      'Content-Type': 'application/json' }, body: JSON.stringify({ product_id: id, name: id,
      public_key: fs.readFileSync(path.join(tmp, 'k.pub.pem'), 'utf8') }) });
    assert.equal(r.status, 201);
    return r.json();
  };
  const prod = await mkProduct(PRODUCT), other = await mkProduct(OTHER);
  const enroll = prod.enroll_token;
  fs.mkdirSync(path.join(tmp, 'catalog', 'fw'), { recursive: true });
  for (const v of ['1.0.0', '2.0.0']) {
    run(DEVICE, ['mkfw', '--version', v, '--behaviour', 'healthy', '--size', '98304', `fw-${v}.bin`]);
    run(CLI, ['sign', '-k', 'k.pem', '-v', v, '--product', PRODUCT, `fw-${v}.bin`, `fw-${v}.img`]);
  }
  // The otakit releases on the server: 2.0.0 of PRODUCT, 3.0.0 of the other product.
  run(CLI, ['sign', '-k', 'k.pem', '-v', '3.0.0', '--product', OTHER, 'fw-2.0.0.bin', 'other-3.0.0.img']);
  for (const [id, tok, img] of [[PRODUCT, prod.owner_token, 'fw-2.0.0.img'], [OTHER, other.owner_token, 'other-3.0.0.img']]) {
    const up = await fetch(`${url}/api/v1/products/${id}/releases`, { method: 'POST', headers: {
      Authorization: 'Bearer ' + tok, 'Content-Type': 'application/octet-stream' }, body: fs.readFileSync(path.join(tmp, img)) });
    assert.equal(up.status, 201, await up.text());
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
  // The device of otakit images: its page lists the server's catalog for it (--catalog otakit).
  pushPort2 = await freePort();
  device2 = spawn(DEVICE, ['--server', url, '--enroll', enroll, '--id', 'page-dev2', '--dir', path.join(tmp, 'dev2'),
    '--key', 'k.pub.pem', '--product', PRODUCT, '--factory', 'fw-1.0.0.img', '--poll', '60', '--slow',
    '--commit-window', '5000', '--push', String(pushPort2),
    '--push-basic', Buffer.from(`${CREDS.username}:${CREDS.password}`).toString('base64'),
    '--catalog', 'otakit'], { cwd: tmp });
  device2.stdout.on('data', (b) => { devLog2 += b; });
  device2.stderr.on('data', (b) => { devLog2 += b; });
  await until('the device to serve its push endpoints', 30000, () => devLog.includes(`push endpoints on tcp port ${pushPort}`));
  await until('the second device to register and serve', 30000,
    () => devLog2.includes('registered') && devLog2.includes(`push endpoints on tcp port ${pushPort2}`));
  browser = await chromium.launch({ executablePath: BROWSER, headless: true, args: ['--no-sandbox'] });
});

after(async () => {
  if (browser) await browser.close();
  for (const p of [device, device2, server]) if (p && p.exitCode === null) p.kill('SIGTERM');
  if (catalog) catalog.close();
  if (process.env.OTAKIT_KEEP) console.log(devLog, devLog2);
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

test('the device catalog of otakit-server needs a device token', async () => {
  const r = await fetch(url + '/api/v1/device/catalog');
  assert.equal(r.status, 401);
  const base = `http://127.0.0.1:${pushPort2}`;
  assert.equal((await fetch(base + '/_ac/update_catalog')).status, 401); // the device's page: its credentials
});

test('a device of otakit images lists its own product\'s releases and updates through the page', async () => {
  // What the page's script gets: the server's list for this device, as the device fetched it.
  const basic = 'Basic ' + Buffer.from(`${CREDS.username}:${CREDS.password}`).toString('base64');
  const listed = await fetch(`http://127.0.0.1:${pushPort2}/_ac/update_catalog`, { headers: { Authorization: basic } });
  const body = await listed.text();
  assert.equal(listed.status, 200, body + devLog2);
  const entries = JSON.parse(body);
  assert.deepEqual(entries.map((e) => e.name), ['2.0.0+0.bin'], body);
  assert.equal(entries[0].type, 'bin');
  assert.equal(entries[0].size, fs.statSync(path.join(tmp, 'fw-2.0.0.img')).size);
  assert.equal(entries[0].sha256, crypto.createHash('sha256').update(fs.readFileSync(path.join(tmp, 'fw-2.0.0.img'))).digest('hex'));
  const ctx = await browser.newContext({ httpCredentials: CREDS, viewport: { width: 760, height: 520 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => { throw e; });
  await page.goto(`http://127.0.0.1:${pushPort2}/_ac/update`);
  await page.locator('#run').filter({ hasText: '1.0.0' }).waitFor();
  const row = page.locator('#cat tr').filter({ hasText: '2.0.0+0.bin' });
  await row.waitFor();
  // Only this product's release: the other product's 3.0.0 is not listed.
  assert.equal(await page.locator('#cat tr').count(), 1);
  assert.doesNotMatch(await page.locator('#cat').innerText(), /3\.0\.0/);
  await row.locator('input[type=radio]').check();
  await page.click('#go');
  const seen = await until('the progress bar to move', 30000, async () => {
    const v = await page.locator('#bar').evaluate((b) => b.value);
    return v >= 20 && v <= 90 ? v : 0;
  });
  assert.match(await page.locator('#msg').innerText(), /Updating 2\.0\.0\+0\.bin: \d+ \/ \d+ bytes/);
  await page.screenshot({ path: path.join(shots, 'device-update-page-otakit-progress.png') });
  await page.locator('#msg').filter({ hasText: 'Updated: now running 2.0.0' }).waitFor({ timeout: 90000 });
  assert.equal(await page.locator('#run').innerText(), '2.0.0+0');
  await page.screenshot({ path: path.join(shots, 'device-update-page-otakit.png') });
  assert.ok(seen > 0);
  await until('the agent to confirm 2.0.0', 30000, () => devLog2.includes('self-test passed: confirmed 2.0.0'));
  assert.ok(devLog2.includes('update page: pulling 2.0.0+0.bin from the server\'s device catalog'), devLog2);
  assert.ok(devLog2.includes('update page: 2.0.0+0.bin verified, resetting'), devLog2);
  // The running slot holds the release byte for byte.
  const flash = fs.readFileSync(path.join(tmp, 'dev2', 'flash.bin'));
  assert.ok(flash.includes(fs.readFileSync(path.join(tmp, 'fw-2.0.0.img'))));
  await ctx.close();
});
