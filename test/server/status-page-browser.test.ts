import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { FAST_INTERVALS, startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { waitFor } from '../../harness/processes.js';
import { statusPage } from '../../src/server/status-page/page.js';
import type { ClusterData, MemberJson } from '../../src/server/status-page/types.js';

// The status page at / in a real browser (Debian's chromium driven by playwright-core, no browser download)
// against the real exporter process watching a real 3-member cluster: a killed member shows as down with its
// error code within two polls, without a reload, and comes back after a restart.

const CHROMIUM = '/usr/bin/chromium';
/** The exporter's rounds (FAST_INTERVALS: 1 s); the page polls once per round. */
const ROUND_MS = 1000;
/** expect.poll waits 1 s by default; the first poll of a page may take longer on a loaded machine. */
const POLL = { timeout: 15_000 };
const ARTIFACT = path.resolve(import.meta.dirname, '../../.tmp/artifacts/status-page.png');

let cluster: EtcdCluster;
let exporter: ExporterProcess;
let authed: ExporterProcess;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  // Never skipped: without the browser this test fails and says how to get it.
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: run scripts/install-deps.sh (apt-get install chromium)`);
  dir = mkdtempSync(path.join(tmpdir(), 'status-page-browser-'));
  const web = path.join(dir, 'web.yml');
  writeFileSync(web, `basic_auth_users:\n  ops: ${bcrypt.hashSync('ops-password', 4)}\n`);
  cluster = await startCluster({ size: 3 });
  const args = ['--endpoints', cluster.endpoints.join(','), '--cluster-name', 'main', ...FAST_INTERVALS];
  [exporter, authed] = await Promise.all([
    startExporter({ args: [...args, '--web.enable-benchmark-api'] }),
    startExporter({ args: [...args, '--web.config.file', web] }),
  ]);
  // Root in a container has no user namespace for chromium's sandbox.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([exporter?.stop(), authed?.stop()]);
  await cluster?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A page that records console errors, uncaught exceptions and CSP violations. */
async function openPage(
  options: Parameters<Browser['newPage']>[0] = {},
): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, ...options });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  return { page, errors };
}

/** Polls the page has completed (its script counts them in #status's data-polls). */
async function polls(page: Page): Promise<number> {
  return Number(await page.locator('#status').getAttribute('data-polls'));
}

async function activeId(page: Page): Promise<string> {
  return (await page.evaluate(`document.activeElement ? document.activeElement.id : ''`)) as string;
}

/** The text of the member row of `name` (state word, error code, ...), or '' when absent. */
async function rowText(page: Page, name: string): Promise<string> {
  const row = page.locator('#clusters tbody tr', { has: page.locator('th', { hasText: name }) });
  return (await row.count()) === 1 ? await row.innerText() : '';
}

interface MembersAnswer {
  members: (MemberJson & { last_error: { code: string } | null })[];
}

describe('status page in chromium against a real 3-member cluster', () => {
  it('shows the members, a killed one as down with its error code within 2 polls, and its return', async () => {
    const { page, errors } = await openPage();
    await page.goto(`${exporter.url}/`);
    await expect.poll(() => page.locator('#clusters tbody tr').count(), POLL).toBe(3);
    // The script ran under the page's CSP: it replaced the server's line with its own.
    await expect.poll(() => page.locator('#updated').innerText(), POLL).toMatch(/^Updated /);
    expect(await page.locator('h2', { hasText: 'Cluster main' }).innerText()).toContain('HEALTHY');
    const headers = await page.locator('#clusters thead th[scope=col]').allInnerTexts();
    expect(headers).toEqual([
      'Member',
      'Client URL',
      'State',
      'Role',
      'Raft term',
      'Raft index',
      'DB size',
      'Version',
      'Last error',
    ]);
    // Keyboard: Tab reaches the member table's scroll region, it shows a focus ring, and the page's own updates
    // (the cards are re-rendered each poll: "Last check" moves) leave the focus where it was.
    let tabs = 0;
    while ((await activeId(page)) !== 'cluster-0-members' && tabs < 30) {
      await page.keyboard.press('Tab');
      tabs++;
    }
    expect(await activeId(page)).toBe('cluster-0-members');
    expect(await page.evaluate(`getComputedStyle(document.activeElement).outlineStyle`)).toBe('solid');
    const pollsBefore = await polls(page);
    await expect.poll(() => polls(page), { timeout: 10_000 }).toBeGreaterThanOrEqual(pollsBefore + 2);
    expect(await activeId(page)).toBe('cluster-0-members');

    // A marker that a reload would wipe out.
    await page.evaluate(() => Object.assign(globalThis, { statusPageMarker: 42 }));

    const victimIndex = ((await cluster.leaderIndex()) + 1) % 3;
    const victim = cluster.members[victimIndex]?.name as string;
    await cluster.kill(victimIndex);
    const killedAt = Date.now();
    // Both watched side by side: when the API first says the member is down (with a code), and when the page does.
    let apiAt: number | undefined;
    let pollsAtApi = 0;
    let code = '';
    const shown = await waitFor(
      async () => {
        if (apiAt === undefined) {
          const { body } = await exporter.json<MembersAnswer>('/api/v1/cluster/members?cluster=main');
          const m = body.members.find((x) => x.name === victim);
          if (m && !m.up && m.last_error) {
            pollsAtApi = await polls(page);
            apiAt = Date.now();
            code = m.last_error.code;
          }
        }
        const text = await rowText(page, victim);
        return apiAt !== undefined && /\b(DOWN|UNREACHABLE)\b/.test(text) && text.includes(code)
          ? { at: Date.now(), text, polls: await polls(page) }
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `the page to show ${victim} down` },
    );
    console.log(
      `member killed → API down after ${(apiAt as number) - killedAt} ms, page after ${shown.at - killedAt} ms ` +
        `(${shown.polls - pollsAtApi} polls later)`,
    );
    // Within 2 of the page's polls once the API knew: the one under way may have read the API just before.
    expect(shown.polls - pollsAtApi).toBeLessThanOrEqual(2);
    // And in time, with room for a loaded machine (a poll is due every ROUND_MS).
    expect(shown.at - (apiAt as number)).toBeLessThanOrEqual(5 * ROUND_MS);
    expect(shown.text).toMatch(/not answering/);
    expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
    expect(await page.locator('h2', { hasText: 'Cluster main' }).innerText()).toContain('DEGRADED');
    // The change was announced in the aria-live log.
    expect(await page.locator('#changes').innerText()).toContain(`member ${victim} of main: HEALTHY →`);
    expect(await page.evaluate(() => (globalThis as { statusPageMarker?: number }).statusPageMarker)).toBe(
      42,
    );

    mkdirSync(path.dirname(ARTIFACT), { recursive: true });
    const png = await page.screenshot({ path: ARTIFACT, fullPage: true });
    console.log(`status page screenshot: ${ARTIFACT}`);
    const badge = page
      .locator('#clusters tbody tr', { has: page.locator('th', { hasText: victim }) })
      .locator('.badge')
      .first();
    const box = await badge.boundingBox();
    expect(box).not.toBeNull();
    await checkScreenshot(png, box as { x: number; y: number; width: number; height: number });

    await cluster.restart(victimIndex);
    await waitFor(async () => /\bHEALTHY\b/.test(await rowText(page, victim)), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: `the page to show ${victim} healthy again`,
    });
    await expect
      .poll(() => page.locator('h2', { hasText: 'Cluster main' }).innerText(), POLL)
      .toContain('HEALTHY');
    expect(await page.locator('#clusters tbody tr').count()).toBe(3);
    expect(await page.evaluate(() => (globalThis as { statusPageMarker?: number }).statusPageMarker)).toBe(
      42,
    );
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('fills in the firing alerts (from the alert history) and the last benchmark of the cluster', async () => {
    const { page, errors } = await openPage();
    await page.goto(`${exporter.url}/`);
    await expect.poll(() => page.locator('#updated').innerText(), POLL).toMatch(/^Updated /);
    const card = page.locator('#clusters article');
    await expect.poll(() => card.innerText(), POLL).toContain('No benchmark has run.');
    expect(await card.innerText()).toContain('None firing.');

    // An Alertmanager 0.25 notification (a captured one, relabelled to this cluster) and a small benchmark run.
    const notification = (
      await readFile(
        path.resolve(import.meta.dirname, '../fixtures/alertmanager-0.25/webhook-firing-critical.json'),
        'utf8',
      )
    )
      .replaceAll('"c1"', '"main"')
      .replaceAll('\\"c1\\"', '\\"main\\"');
    const hook = await fetch(`${exporter.url}/api/v1/alerts/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: notification,
    });
    expect(hook.status).toBe(200);
    const started = await fetch(`${exporter.url}/api/v1/performance/benchmark`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'write', ops: 200 }),
    });
    expect(started.status).toBe(202);
    await expect
      .poll(() => card.innerText(), { timeout: 30_000 })
      .toMatch(/write: \d+ ops\/s, p99 [\d.]+ ms, 0 failed, SLO (passed|FAILED)/);
    const text = await card.innerText();
    expect(text).toMatch(
      /critical EtcdQuorumLost — EtcdQuorumLost summary\. \(since 2026-11-23 13:38:25 UTC\)/,
    );
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('renders hostile member names and error messages as text: nothing injected runs', async () => {
    const { page, errors } = await openPage();
    const hostile = '<script>globalThis.pwned = 1</script><img src=x onerror="globalThis.pwned = 2">';
    const member: MemberJson = {
      name: hostile,
      endpoint: 'http://127.0.0.1:1/"><b>',
      up: false,
      healthy: false,
      health_state: 'down',
      health_reason: hostile,
      is_leader: false,
      is_learner: false,
      version: null,
      raft_term: null,
      raft_index: null,
      db_size: null,
      db_quota: null,
      db_quota_usage_ratio: null,
      alarms: [],
      last_error: { collector: 'status', code: 'ECONNREFUSED', message: hostile, at: null },
    };
    const cards: ClusterData[] = [
      {
        name: hostile,
        status: { unavailable: hostile },
        members: [member],
        leaderChanges: [],
        alerts: [],
        benchmark: null,
      },
    ];
    // Served from the exporter's origin is not needed: the same document, set as the page content.
    await page.setContent(
      statusPage({
        version: '0',
        clusters: cards,
        intervalMs: 60_000,
        benchmark: false,
        now: new Date(0).toISOString(),
      }),
    );
    const row = await page.locator('#clusters tbody tr th').innerText();
    expect(row).toBe(hostile);
    expect(await page.locator('#clusters img').count()).toBe(0);
    expect(await page.locator('#clusters script').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
    // setContent has no CSP header, and about:blank has no API to poll: the script's failed fetch is expected.
    expect(errors.filter((e) => !/Failed to load resource|fetch/i.test(e))).toEqual([]);
    await page.close();
  });

  it('with auth configured, the page and every API path it polls need credentials, and work with them', async () => {
    const paths = [
      '/',
      '/api/v1/clusters',
      '/api/v1/cluster/status?cluster=main',
      '/api/v1/cluster/members?cluster=main',
      '/api/v1/cluster/leader/history?cluster=main&limit=5',
      '/api/v1/alerts?cluster=main&limit=20',
    ];
    for (const p of paths) {
      const res = await fetch(authed.url + p);
      expect(res.status, p).toBe(401);
      expect(res.headers.get('www-authenticate'), p).toMatch(/^Basic /);
    }
    const { page, errors } = await openPage({
      httpCredentials: { username: 'ops', password: 'ops-password' },
    });
    const res = await page.goto(`${authed.url}/`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toMatch(/script-src 'sha256-[^']+'(;|$)/);
    await expect.poll(() => page.locator('#updated').innerText(), POLL).toMatch(/^Updated /);
    await expect.poll(() => page.locator('#clusters tbody tr').count(), POLL).toBe(3);
    // A viewer-or-better page polls the histories too: filled in, not "Not available: HTTP 401".
    const card = await page.locator('#clusters article').innerText();
    expect(card).not.toMatch(/HTTP 401/);
    expect(card).toMatch(/None firing\./);
    expect(errors).toEqual([]);
    await page.close();
  });
});

/**
 * The screenshot is a real picture: a PNG of the page's size with many colours, the page background at the
 * corner and the red "down" badge where the DOM says it is. Decoded by the browser itself (an <img> drawn on
 * a canvas in a blank page, where no CSP applies).
 */
async function checkScreenshot(
  png: Buffer,
  badge: { x: number; y: number; width: number; height: number },
): Promise<void> {
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  expect(png.length).toBeGreaterThan(20_000);
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  expect(width).toBe(1280);
  expect(height).toBeGreaterThanOrEqual(900);
  const page = await browser.newPage();
  // Plain JavaScript run in the browser (the project compiles without the DOM library).
  const probe = (await page.evaluate(`(async () => {
    const img = new Image();
    img.src = 'data:image/png;base64,${png.toString('base64')}';
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const pixel = (x, y) => Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3));
    const colours = new Set();
    const all = ctx.getImageData(0, 0, img.width, img.height).data;
    for (let i = 0; i < all.length; i += 4 * 7) colours.add((all[i] << 16) | (all[i + 1] << 8) | all[i + 2]);
    return { corner: pixel(2, 2), badge: pixel(${Math.round(badge.x + 2)}, ${Math.round(badge.y + badge.height / 2)}), colours: colours.size };
  })()`)) as { corner: number[]; badge: number[]; colours: number };
  await page.close();
  expect(probe.colours).toBeGreaterThan(20);
  expect(probe.corner).toEqual([0xf6, 0xf7, 0xf9]);
  // #fde2e4, the "crit" badge's background (anti-aliasing may touch the edge by a few levels).
  const [r, g, b] = probe.badge as [number, number, number];
  expect(Math.abs(r - 0xfd) + Math.abs(g - 0xe2) + Math.abs(b - 0xe4)).toBeLessThan(24);
}
