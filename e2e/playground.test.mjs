// End-to-end: serves dist/ on 127.0.0.1 and drives Debian's Chromium with playwright-core.
// Run by `cargo xtask test` after `cargo xtask dist` (DIST_DIR and CHROMIUM_PATH override
// the served folder and the browser; BASE_URL tests a page served elsewhere instead, such
// as `cargo xtask serve`'s). Screenshots go to e2e/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(process.env.DIST_DIR ?? path.join(here, '..', 'dist'));
const shots = path.join(here, 'screenshots');
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
};
const ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
];
// Virtual time runs at 2x in these tests (the "speed" select's option 5).
const FAST = '5';

let server;
let browser;
let base;

before(async () => {
  server = http.createServer(async (req, res) => {
    let p = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    if (p.endsWith('/')) p += 'index.html';
    const file = path.join(dist, path.normalize(p));
    if (!file.startsWith(dist)) return res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = process.env.BASE_URL ?? `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ARGS,
  });
  await mkdir(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** A new page with error collection; `errors` must stay empty. */
async function open(url, errors) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(url);
  await page.locator('[data-testid="member-n1"]').waitFor({ timeout: 20000 });
  return page;
}

/** The members' roles and terms, as the page shows them. */
async function members(page) {
  return page.$$eval('[data-testid^="member-n"]', (els) => els.map((e) => ({
    name: e.dataset.testid.slice('member-'.length),
    role: e.dataset.role,
    term: Number(e.dataset.term),
  })));
}

async function leader(page, timeout = 20000, not = null) {
  const handle = await page.waitForFunction((not) => {
    const l = [...document.querySelectorAll('[data-testid^="member-n"][data-role="leader"]')]
      .find((e) => e.dataset.testid !== `member-${not}`);
    return l && { name: l.dataset.testid.slice('member-'.length), term: Number(l.dataset.term) };
  }, not, { timeout });
  return handle.jsonValue();
}

/** Types a command into the console against `member` and waits until `expect` shows up
 * after the command's echo. Returns the command's output. */
async function run(page, member, command, expect, timeout = 20000) {
  await page.selectOption('[data-testid="console-member"]', member.slice(1));
  await page.fill('[data-testid="console-input"]', command);
  await page.press('[data-testid="console-input"]', 'Enter');
  const echo = `${member}$ ${command}\n`;
  const handle = await page.waitForFunction(([echo, expect]) => {
    const text = document.querySelector('[data-testid="console-output"]').textContent;
    const at = text.lastIndexOf(echo);
    if (at < 0) return null;
    const rest = text.slice(at + echo.length);
    const out = rest.split(/\n(?=n\d\$ )/)[0];
    return out.includes(expect) && !out.endsWith('…\n') ? out : null;
  }, [echo, expect], { timeout });
  return handle.jsonValue();
}

test('elections, the console, crashes, isolation and a share link', async () => {
  const errors = [];
  const page = await open(base, errors);
  await page.selectOption('[data-testid="speed"]', FAST);

  // A leader is elected.
  const first = await leader(page);
  assert.ok(first.term >= 1);

  // put, then get, through the leader.
  assert.equal(await run(page, first.name, 'put foo bar', 'OK'), 'OK\n');
  assert.equal(await run(page, first.name, 'get foo', 'bar'), 'foo\nbar\n');
  await page.screenshot({ path: path.join(shots, 'cluster-after-put.png') });

  // Crash the leader: another member leads, in a higher term.
  await page.click(`[data-testid="crash-${first.name}"]`);
  await page.waitForSelector(`[data-testid="member-${first.name}"][data-role="down"]`);
  const second = await leader(page, 20000, first.name);
  assert.notEqual(second.name, first.name);
  assert.ok(second.term > first.term, `term ${second.term} > ${first.term}`);

  // Isolate a live follower: a linearizable get fails there, a serializable one works.
  const all = await members(page);
  const follower = all.find((m) => m.role === 'follower' && m.name !== first.name);
  assert.ok(follower, JSON.stringify(all));
  await page.click(`[data-testid="isolate-${follower.name}"]`);
  const failed = await run(page, follower.name, 'get foo', 'Error: ', 30000);
  assert.match(failed, /^Error: /);
  assert.equal(await run(page, follower.name, 'get foo --consistency=s', 'bar'), 'foo\nbar\n');

  // Bring the old leader back and heal: it rejoins as a follower.
  await page.click(`[data-testid="restart-${first.name}"]`);
  await page.click('[data-testid="heal-all"]');
  await page.waitForSelector(`[data-testid="member-${first.name}"][data-role="follower"]`, { timeout: 20000 });

  // Pause, open the leader's panel, and share.
  await page.click('[data-testid="play-pause"]');
  const now = await members(page);
  const lead = now.find((m) => m.role === 'leader');
  assert.ok(lead, JSON.stringify(now));
  await page.click(`[data-testid="member-${lead.name}"]`);
  const table = await page.locator('[data-testid="kv-table"]').textContent();
  assert.match(table, /foobar/);
  const link = await page.getAttribute('[data-testid="share-link"]', 'href');
  assert.match(link, /#v1\./);
  await page.screenshot({ path: path.join(shots, 'paused-with-panel.png') });

  // The link replays the run to the same moment: same roles, terms, console and store.
  const other = await open(link, errors);
  assert.deepEqual(await members(other), now);
  await other.click(`[data-testid="member-${lead.name}"]`);
  assert.equal(await other.locator('[data-testid="kv-table"]').textContent(), table);
  assert.equal(
    await other.locator('[data-testid="console-output"]').textContent(),
    await page.locator('[data-testid="console-output"]').textContent(),
  );
  assert.equal(
    await other.locator('[data-testid="now"]').textContent(),
    await page.locator('[data-testid="now"]').textContent(),
  );
  await other.screenshot({ path: path.join(shots, 'opened-from-link.png') });
  assert.deepEqual(errors, []);
});

test('keyboard: members, console history and time controls work without a mouse', async () => {
  const errors = [];
  const page = await open(base, errors);
  await page.click('[data-testid="play-pause"]'); // pause
  const before = await page.locator('[data-testid="now"]').textContent();
  await page.focus('[data-testid="step"]');
  await page.keyboard.press('Enter');
  await page.waitForFunction((b) => document.querySelector('[data-testid="now"]').textContent !== b, before);
  await page.focus('[data-testid="member-n2"]');
  await page.keyboard.press('Enter');
  await page.locator('[data-testid="member-panel"] h2').filter({ hasText: 'n2' }).waitFor();
  await page.focus('[data-testid="console-input"]');
  await page.keyboard.type('version');
  await page.keyboard.press('Enter');
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.inputValue('[data-testid="console-input"]'), 'version');
  const out = await page.locator('[data-testid="console-output"]').textContent();
  assert.match(out, /etcdctl version: 3\.4\.23/);
  assert.deepEqual(errors, []);
});

test('clients are drawn, members are dragged into islands, and elect -l follows the leader', async () => {
  const errors = [];
  const page = await open(base, errors);
  await page.selectOption('[data-testid="speed"]', FAST);
  await leader(page);

  // The workload's clients and the console ("you") are tied to the members they talk to.
  assert.equal(await page.locator('[data-testid^="client-c"]').count(), 2);
  assert.equal(await page.getAttribute('[data-testid="client-you"]', 'data-member'), 'n1');
  await page.selectOption('[data-testid="console-member"]', '3');
  assert.equal(await page.getAttribute('[data-testid="client-you"]', 'data-member'), 'n3');
  await page.waitForSelector('.client.waiting', { timeout: 20000 });

  // Drag n1 and n2 into island B, then split: they lose their links to n3, n4 and n5.
  for (const id of ['n1', 'n2']) {
    await page.dragAndDrop(`[data-testid="chip-${id}"]`, '[data-testid="island-B"]');
    await page.locator(`[data-testid="island-B"] [data-testid="chip-${id}"]`).waitFor();
  }
  await page.click('[data-testid="split-islands"]');
  const up = (a, b) => page.$eval(`[data-testid="link-${a}-${b}"]`, (e) => e.checked);
  await page.waitForFunction(() => !document.querySelector('[data-testid="link-n1-n3"]').checked);
  assert.equal(await up('n1', 'n3'), false);
  assert.equal(await up('n5', 'n2'), false);
  assert.equal(await up('n1', 'n2'), true);
  assert.equal(await up('n3', 'n4'), true);

  // The majority island keeps (or elects) a leader; an observer there sees the winner.
  await page.waitForFunction(() => ['n3', 'n4', 'n5'].some((n) =>
    document.querySelector(`[data-testid="member-${n}"]`).dataset.role === 'leader'), null, { timeout: 30000 });
  await page.selectOption('[data-testid="console-member"]', '3');
  await page.fill('[data-testid="console-input"]', 'elect -l myelection');
  await page.press('[data-testid="console-input"]', 'Enter');
  const won = await run(page, 'n4', 'elect myelection first', 'first');
  assert.match(won, /^myelection\/[0-9a-f]+\nfirst\n/);
  await page.waitForFunction(() => (document.querySelector('[data-testid="console-output"]')
    .textContent.match(/\nfirst\n/g) ?? []).length >= 2, null, { timeout: 20000 });
  await page.click('[data-testid="play-pause"]');
  await page.screenshot({ path: path.join(shots, 'islands-and-clients.png'), fullPage: true });
  assert.deepEqual(errors, []);
});
