/// <reference lib="dom" />
/**
 * The status page in a real headless Chromium (Debian's chromium, driven by playwright-core): the
 * page loads with no console errors, its charts draw, and a key sent over UDP shows in the search
 * within one second. A screenshot of each run is kept in test-artifacts/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startDaemon, statusUrl, useGraphiteAndDaemon } from './harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`CI: ${CHROMIUM} is missing (apt-get install chromium)`);

describe.runIf(haveChromium)('status page in Chromium', () => {
  const env = useGraphiteAndDaemon();
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('loads without console errors, draws its charts, and shows a key sent over UDP within a second', async () => {
    const token = 'browser-test-token-0123456789';
    env.daemon = await startDaemon(`{ port: 0, address: '127.0.0.1', mgmt_port: 0, flushInterval: 500,
      graphiteHost: '127.0.0.1', graphitePort: ${env.graphite.port}, backends: ['graphite'],
      statusPage: { port: 0, token: '${token}' } }`);
    for (let i = 0; i < 20; i++) await env.daemon.send(`warmup.key:${i}|c\nwarmup.timer:${i}|ms`);
    await env.daemon.send('not a statsd line');
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => {
      if (!r.url().includes('/api/keys')) problems.push(`requestfailed: ${r.url()}`); // (a search is aborted when the box changes)
    });
    const searches: number[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/keys')) searches.push(Date.now());
    });
    await page.goto(`${statusUrl(env.daemon)}?token=${token}`);

    // the three history charts draw once two flushes are in
    await page.waitForFunction(() => document.querySelectorAll('.uplot canvas').length >= 3, undefined, { timeout: 15_000 });
    // two flushes' history points in (flushInterval 500 ms), drawn
    await page.waitForResponse(
      async (r) => r.url().includes('api/status') && ((await r.json()) as { history: { t: number[] } }).history.t.length >= 2,
      {
        timeout: 15_000,
      },
    );
    await page.waitForTimeout(300);
    const drawn = await page.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLCanvasElement>('.uplot canvas')).map((c) => {
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let ink = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) ink++;
        return { w: c.width, h: c.height, ink };
      }),
    );
    for (const c of drawn.slice(0, 3)) {
      expect(c.w).toBeGreaterThan(100);
      expect(c.ink).toBeGreaterThan(100);
    }

    // each backend's state above its admin lines: Graphite took the flushes
    expect(await page.textContent('#backends')).toContain('connected');

    // "is my metric arriving?": type first, then send (while the page's search waits); the row appears within a second
    const asking = page.waitForRequest((r) => r.url().includes('q=arrival.check') && r.url().includes('wait='), { timeout: 5000 });
    await page.fill('#search', 'arrival.check');
    await asking; // the page's search is waiting (a long poll) when the line is sent
    const sentAt = Date.now();
    await env.daemon.send('arrival.check:7|c|#team:web');
    await page.waitForFunction(() => document.querySelector('#results tbody')?.textContent?.includes('arrival.check;team=web'), undefined, {
      timeout: 1000,
    });
    const elapsed = Date.now() - sentAt;
    expect(elapsed).toBeLessThan(1000);
    const rowText = await page.textContent('#results tbody');
    expect(rowText).toContain('stats_counts.arrival.check;team=web');
    expect(rowText).toContain('arrival_check{team="web"}');

    // a result picked: its chart of flushed values draws, and keeps coming with the page's /api/status
    await page.click('#results tbody tr.pick');
    await page.waitForFunction(
      () => document.querySelector('#key-chart-title')?.textContent?.includes('arrival.check;team=web'),
      undefined,
      {
        timeout: 5000,
      },
    );
    await page.waitForFunction(() => document.querySelectorAll('#chart-key .uplot canvas').length === 1, undefined, { timeout: 5000 });
    const watchedWith = await page.waitForRequest((r) => r.url().includes('api/status') && r.url().includes('watchId='), { timeout: 5000 });
    expect(decodeURIComponent(watchedWith.url())).toContain('watchId=arrival.check;team=web');

    // with nothing new the search is asked again about every 2 s (a long poll), not twice a second
    const from = Date.now();
    await page.waitForTimeout(4500);
    const asked = searches.filter((t) => t >= from).length;
    expect(asked).toBeGreaterThanOrEqual(1);
    expect(asked).toBeLessThanOrEqual(4);

    // the bad line is listed with its text
    await page.waitForFunction(() => document.querySelector('#recent')?.textContent?.includes('not a statsd line'), undefined, {
      timeout: 5000,
    });

    const dir = join(ROOT, 'test-artifacts');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, `status-page-${new Date().toISOString().replace(/[:.]/g, '-')}.png`), fullPage: true });
    expect(problems).toEqual([]);
  }, 60_000);
});
