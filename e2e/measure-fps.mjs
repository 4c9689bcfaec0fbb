// Measures the playground's frame rate: 9 members with the client workload running at 1x,
// for 5 s of wall time, counting animation frames the page painted and the simulation
// updates it drew. Not a test (speed is measured, never asserted): run it after
// `cargo xtask dist` with `node e2e/measure-fps.mjs` (`--panel` also keeps n1's member
// panel open, which is redrawn on every frame).
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(process.env.DIST_DIR ?? path.join(here, '..', 'dist'));
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };
const server = http.createServer(async (req, res) => {
  let p = new URL(req.url, 'http://x').pathname;
  if (p.endsWith('/')) p += 'index.html';
  try {
    res.writeHead(200, { 'content-type': types[path.extname(p)] ?? 'application/octet-stream' });
    res.end(await readFile(path.join(dist, path.normalize(p))));
  } catch { res.writeHead(404).end(); }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-quic'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
await page.goto(`http://127.0.0.1:${server.address().port}/`);
await page.locator('[data-testid="member-n1"]').waitFor();
await page.selectOption('[data-testid="member-count"]', '9');
await page.fill('[data-testid="seed"]', '9');
await page.click('[data-testid="new-run"]');
await page.locator('[data-testid="member-n9"]').waitFor();
await page.selectOption('[data-testid="speed"]', '4'); // 1x
const panel = process.argv.includes('--panel');
if (panel) await page.click('[data-testid="member-n1"]');
await page.waitForTimeout(2000);
const result = await page.evaluate(() => new Promise((resolve) => {
  let frames = 0;
  let updates = 0;
  let last = document.querySelector('[data-testid="now"]').textContent;
  const start = performance.now();
  function frame() {
    frames += 1;
    const now = document.querySelector('[data-testid="now"]').textContent;
    if (now !== last) { updates += 1; last = now; }
    if (performance.now() - start < 5000) requestAnimationFrame(frame);
    else resolve({ seconds: (performance.now() - start) / 1000, frames, updates, messages: document.querySelectorAll('circle.msg').length });
  }
  requestAnimationFrame(frame);
}));
console.log(`9 members, workload on, 1x${panel ? ', member panel open' : ''}: ${(result.frames / result.seconds).toFixed(1)} painted frames/s, `
  + `${(result.updates / result.seconds).toFixed(1)} simulation updates drawn/s `
  + `(${result.messages} messages in flight at the end)`);
await browser.close();
server.close();
