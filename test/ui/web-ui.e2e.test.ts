import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { describeWithTool } from '../helpers/tools';
import { startTestServer, type TestServer } from '../tracking/helpers';
import { ADMIN, as, createUser, startAuthServer, type AuthTestServer, type Credentials } from '../auth/helpers';
import { chromiumAvailability, eventually, launchBrowser, screenshotPath, type TestBrowser } from './browser';
import { ensureUiBuilt } from './build';
import { seedTracking, type Seeded } from './seed';
import { ifStarted } from '../helpers/lifecycle';

jest.setTimeout(180_000);

const runRows = (page: Page) => page.locator('table[aria-label="Runs"] tbody tr');
const column = (page: Page, col: string) => page.locator(`table[aria-label="Runs"] td[data-col="${col}"]`).allTextContents();

/** Pixels of a chart canvas drawn in a series colour: proof the curve was painted, not just a frame. */
async function seriesPixels(page: Page, rgb: [number, number, number]): Promise<number> {
  return page.evaluate((c) => {
    let n = 0;
    // Runs in the page; the test program has no DOM typings, hence the loose types.
    const canvases: any[] = Array.from((globalThis as any).document.querySelectorAll('.chart canvas'));
    for (const canvas of canvases) {
      const data: Uint8ClampedArray = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i] - c[0]) < 40 && Math.abs(data[i + 1] - c[1]) < 40 && Math.abs(data[i + 2] - c[2]) < 40 && data[i + 3] > 100) n++;
      }
    }
    return n;
  }, rgb);
}

const BLUE: [number, number, number] = [37, 99, 235];
const RED: [number, number, number] = [220, 38, 38];
const BIG_RUN_POINTS = 100_000;

describeWithTool('web UI in headless Chromium', chromiumAvailability(), () => {
  let server: TestServer;
  let browser: TestBrowser;
  let page: Page;
  let seeded: Seeded;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    ensureUiBuilt();
    // The app mounts the UI, /get-artifact and get-history-bulk-interval itself, as `mlops tracking serve` does.
    server = await startTestServer('sqlite');
    seeded = await seedTracking(server.url, BIG_RUN_POINTS);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', (e) => {
      throw e;
    });
  });
  afterAll(async () => {
    fs.writeFileSync(screenshotPath('timings').replace(/\.png$/, '.json'), JSON.stringify(timings, null, 2));
    await ifStarted(browser)?.close();
    await ifStarted(server)?.stop();
  });

  test('experiments list shows both experiments and searches by name', async () => {
    await page.goto(`${server.url}/`);
    await eventually(async () => expect(await page.locator('table[aria-label="Experiments"] tbody tr').count()).toBeGreaterThanOrEqual(2));
    await page.screenshot({ path: screenshotPath('01-experiments'), fullPage: true });
    await page.fill('input[aria-label="Search experiments"]', 'vision');
    await page.press('input[aria-label="Search experiments"]', 'Enter');
    await eventually(async () =>
      expect(await page.locator('table[aria-label="Experiments"] tbody tr').allTextContents()).toEqual([expect.stringContaining('vision-classifier')]),
    );
    expect(page.url()).toContain('#/experiments?q=vision');
  });

  test('runs table filters with the search_runs DSL and sorts by a metric column', async () => {
    await page.click('text=vision-classifier');
    await eventually(async () => expect(await runRows(page).count()).toBe(4));
    await page.fill('input[aria-label="Filter runs"]', 'metrics.accuracy > 0.8');
    await page.press('input[aria-label="Filter runs"]', 'Enter');
    await eventually(async () => expect((await column(page, 'metrics.accuracy')).sort()).toEqual(['0.88', '0.93']));
    expect(new URLSearchParams(new URL(page.url()).hash.split('?')[1]).get('filter')).toBe('metrics.accuracy > 0.8');

    await page.click('table[aria-label="Runs"] thead button:has-text("accuracy")');
    await eventually(async () => expect(await column(page, 'metrics.accuracy')).toEqual(['0.93', '0.88']));
    await page.click('table[aria-label="Runs"] thead button:has-text("accuracy")');
    await eventually(async () => expect(await column(page, 'metrics.accuracy')).toEqual(['0.88', '0.93']));
    expect(await page.getAttribute('table[aria-label="Runs"] th[aria-sort="ascending"]', 'aria-sort')).toBe('ascending');

    // A param filter, and the sort survives in the URL.
    await page.fill('input[aria-label="Filter runs"]', "params.model = 'xgb' and metrics.accuracy < 0.9");
    await page.press('input[aria-label="Filter runs"]', 'Enter');
    await eventually(async () => expect(await page.locator('table[aria-label="Runs"] tbody tr a').allTextContents()).toEqual(['xgb-deep']));
    await page.fill('input[aria-label="Filter runs"]', '');
    await page.press('input[aria-label="Filter runs"]', 'Enter');
    await eventually(async () => expect(await column(page, 'metrics.accuracy')).toEqual(['0.64', '0.71', '0.88', '0.93']));
    await page.screenshot({ path: screenshotPath('02-runs-sorted'), fullPage: true });
  });

  test('the runs table is keyboard navigable: arrows move, Enter opens the run', async () => {
    await runRows(page).first().focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    const third = await runRows(page).nth(2).getAttribute('data-run-id');
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.getAttribute('data-run-id'))).toBe(third);
    await page.keyboard.press('Enter');
    await eventually(() => expect(page.url()).toContain(`#/runs/${third}`));
  });

  test('runs are paged with the server’s page tokens, forward and back', async () => {
    await page.goto(`${server.url}/#/experiments/${seeded.otherExperimentId}`);
    await eventually(async () => expect(await runRows(page).count()).toBe(25));
    const firstPage = await page.locator('table[aria-label="Runs"] tbody tr a').allTextContents();
    await page.click('button:has-text("Next page")');
    await eventually(async () => expect(await runRows(page).count()).toBe(6)); // 30 trials + the long run
    const secondPage = await page.locator('table[aria-label="Runs"] tbody tr a').allTextContents();
    expect(secondPage.filter((name) => firstPage.includes(name))).toEqual([]);
    expect(page.url()).toContain('page=');
    expect(await page.locator('button:has-text("Next page")').count()).toBe(0);
    await page.click('button:has-text("Previous page")');
    await eventually(async () => expect(await page.locator('table[aria-label="Runs"] tbody tr a').allTextContents()).toEqual(firstPage));
  });

  test('a filter the server rejects and a filter matching nothing say what to do', async () => {
    await page.goto(`${server.url}/#/experiments/${seeded.experimentId}?filter=${encodeURIComponent('metrics.accuracy >>> 1')}`);
    const alert = page.locator('[role="alert"]');
    await eventually(async () => expect(await alert.textContent()).toContain('INVALID_PARAMETER_VALUE'));
    expect(await alert.textContent()).toContain('Fix the search or filter');
    await page.screenshot({ path: screenshotPath('03-runs-bad-filter'), fullPage: true });
    await page.goto(`${server.url}/#/experiments/${seeded.experimentId}?filter=${encodeURIComponent('metrics.accuracy > 5')}`);
    await eventually(async () => expect(await page.locator('.state.empty').textContent()).toContain('No run matches'));
  });

  test('run page: params, metrics, tags, and the loss chart drawn from the logged points', async () => {
    const run = seeded.runs[1];
    await page.goto(`${server.url}/#/runs/${run.runId}`);
    await eventually(async () => expect(await page.locator('table[aria-label="Parameters"]').textContent()).toContain('xgb'));
    expect(await page.locator('table[aria-label="Metrics"]').textContent()).toContain('0.93');
    expect(await page.locator('table[aria-label="Tags"]').textContent()).toContain('cifar-mini');
    // A metric's name opens its chart at full size (an old `?metric=` link lands there too).
    await page.click('table[aria-label="Metrics"] a:has-text("loss")');
    await eventually(() => expect(page.url()).toContain('tab=metrics&metric=loss'));
    const chart = page.locator('.chart[data-metric="loss"]');
    await eventually(async () => expect(await chart.getAttribute('data-points')).toBe(String(run.steps)));
    await eventually(async () => expect(await seriesPixels(page, BLUE)).toBeGreaterThan(100));
    await page.screenshot({ path: screenshotPath('04-run'), fullPage: true });

    // The time axis is one click away and lands in the URL.
    await page.click('text=relative time');
    await eventually(() => expect(page.url()).toContain('x=relative'));
    await eventually(async () => expect(await seriesPixels(page, BLUE)).toBeGreaterThan(100));
  });

  test('artifact browser previews text and images and links the download', async () => {
    await page.click('nav.tabs a:has-text("Artifacts")');
    await page.click('.artifact-tree button:has-text("notes.txt")');
    await eventually(async () => expect(await page.locator('pre.text-preview').textContent()).toContain('threshold: 0.42'));
    const download = await page.getAttribute('.preview a:has-text("Download")', 'href');
    const res = await fetch(new URL(download!, `${server.url}/`).toString());
    expect(await res.text()).toContain('confusion is lowest');

    await page.click('.artifact-tree button:has-text("plots/")');
    await page.click('.artifact-tree button:has-text("roc.png")');
    await eventually(async () => expect(await page.evaluate(() => (globalThis as any).document.querySelector('.preview img')?.naturalWidth)).toBe(96));
    await page.locator('.artifacts').scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshotPath('05-artifacts'), fullPage: true });
  });

  test('comparing runs draws one curve per selected run', async () => {
    await page.goto(`${server.url}/#/experiments/${seeded.experimentId}`);
    await eventually(async () => expect(await runRows(page).count()).toBe(4));
    await page.check('input[aria-label="Select xgb-tuned"]');
    // Space on a focused row toggles its selection too.
    await page.locator('tr:has(input[aria-label="Select rf-baseline"])').focus();
    await page.keyboard.press(' ');
    await page.click('button:has-text("Compare 2 selected")');
    await page.selectOption('select[aria-label="Metric"]', 'loss');
    // The main chart (the grid of all metrics below has a small one of loss too).
    const chart = page.locator('.compare-chart .chart[data-metric="loss"]');
    await eventually(async () => expect(await chart.getAttribute('data-series')).toBe('2'));
    const names = [seeded.runs[0], seeded.runs[1]];
    expect(await chart.getAttribute('data-points')).toBe(String(names[0].steps + names[1].steps));
    await eventually(async () => expect(await seriesPixels(page, BLUE)).toBeGreaterThan(100));
    expect(await seriesPixels(page, RED)).toBeGreaterThan(100);
    expect(await page.locator('table[aria-label="Runs compared"]').textContent()).toContain('0.71');
    await page.screenshot({ path: screenshotPath('06-compare'), fullPage: true });
  });

  test(`a run with ${BIG_RUN_POINTS} points charts a server-downsampled history`, async () => {
    const started = Date.now();
    await page.goto(`${server.url}/#/runs/${seeded.bigRunId}?metric=loss`);
    const chart = page.locator('.chart[data-metric="loss"]');
    await chart.waitFor();
    await eventually(async () => expect(await seriesPixels(page, BLUE)).toBeGreaterThan(100));
    timings.bigRunChartMs = Date.now() - started;
    const points = Number(await chart.getAttribute('data-points'));
    expect(points).toBeGreaterThanOrEqual(900);
    expect(points).toBeLessThanOrEqual(1002);
    process.stdout.write(`chart of a ${BIG_RUN_POINTS}-point run: ${points} points drawn, ${timings.bigRunChartMs} ms from navigation to painted\n`);
    await page.screenshot({ path: screenshotPath('07-long-run'), fullPage: true });

    // Dragging across the chart zooms into a step window fetched at full detail, kept in the URL.
    const over = await page.locator('.chart .u-over').boundingBox();
    await page.mouse.move(over!.x + over!.width * 0.3, over!.y + over!.height / 2);
    await page.mouse.down();
    await page.mouse.move(over!.x + over!.width * 0.305, over!.y + over!.height / 2, { steps: 5 });
    await page.mouse.up();
    await eventually(() => expect(page.url()).toMatch(/from=\d+&to=\d+/));
    const q = new URLSearchParams(new URL(page.url()).hash.split('?')[1]);
    const from = Number(q.get('from'));
    const to = Number(q.get('to'));
    expect(from).toBeGreaterThan(25_000);
    expect(to).toBeLessThan(35_000);
    const expected = Math.min(to - from + 1, 1000);
    await eventually(async () => expect(Math.abs(Number(await chart.getAttribute('data-points')) - expected)).toBeLessThanOrEqual(2));
    await page.screenshot({ path: screenshotPath('07b-long-run-zoomed'), fullPage: true });
    await page.click('button:has-text("Show all steps")');
    await eventually(async () => expect(Number(await chart.getAttribute('data-points'))).toBe(points));
  });

  test('unknown runs and pages explain themselves', async () => {
    await page.goto(`${server.url}/#/runs/${'0'.repeat(32)}`);
    await eventually(async () => expect(await page.locator('[role="alert"]').textContent()).toContain('RESOURCE_DOES_NOT_EXIST'));
    await page.goto(`${server.url}/#/nowhere`);
    await eventually(async () => expect(await page.locator('.state.empty').textContent()).toContain('There is no page'));
  });
});

describeWithTool("web UI with the server's own basic auth", chromiumAvailability(), () => {
  let server: AuthTestServer;
  let browser: TestBrowser | undefined;
  let bob: Credentials;

  beforeAll(async () => {
    ensureUiBuilt();
    // `mlops tracking serve --app-name basic-auth`, as every cluster environment runs it.
    server = await startAuthServer('sqlite');
    bob = await createUser(server, 'bob');
    const admin = as(server, ADMIN);
    const shared = (await admin('POST', '/experiments/create', { name: 'shared-with-bob' })).body.experiment_id;
    const secret = (await admin('POST', '/experiments/create', { name: 'admin-only' })).body.experiment_id;
    expect((await admin('POST', '/experiments/permissions/create', { experiment_id: shared, username: 'bob', permission: 'READ' })).status).toBe(200);
    expect((await admin('POST', '/experiments/permissions/create', { experiment_id: secret, username: 'bob', permission: 'NO_PERMISSIONS' })).status).toBe(200);
  });
  afterEach(async () => {
    await browser?.close();
    browser = undefined;
  });
  afterAll(async () => {
    await ifStarted(server)?.stop();
  });

  test("with a user's credentials the page and its API calls pass, and the list holds only what that user may read", async () => {
    browser = await launchBrowser({ httpCredentials: bob });
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/#/experiments`);
    const table = page.locator('table[aria-label="Experiments"]');
    await eventually(async () => expect(await table.textContent()).toContain('shared-with-bob'));
    expect(await table.textContent()).not.toContain('admin-only');
    await page.screenshot({ path: screenshotPath('08-behind-basic-auth'), fullPage: true });
  });

  test('without credentials the server challenges the browser (401 + WWW-Authenticate) and shows no data', async () => {
    browser = await launchBrowser();
    const page = await browser.context.newPage();
    const responses: Array<{ status: number; challenge?: string }> = [];
    page.on('response', (r) => responses.push({ status: r.status(), challenge: r.headers()['www-authenticate'] }));
    // Headless Chromium has no one to ask for credentials, so it abandons the navigation: the page never renders.
    const outcome = await page.goto(`${server.url}/#/experiments`).then(
      () => 'loaded',
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    );
    expect(outcome).toContain('ERR_INVALID_AUTH_CREDENTIALS');
    expect(responses[0]).toEqual({ status: 401, challenge: 'Basic realm="mlflow"' });
    // Nothing but challenges came back: no page, no script, no API data.
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 401));
  });
});

describeWithTool('web UI under an ingress path prefix', chromiumAvailability(), () => {
  let server: TestServer;
  let browser: TestBrowser;
  let proxy: http.Server;
  let proxyUrl: string;

  beforeAll(async () => {
    ensureUiBuilt();
    server = await startTestServer('sqlite');
    const exp = await fetch(`${server.url}/api/2.0/mlflow/experiments/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'prefixed' }),
    });
    const experimentId = ((await exp.json()) as { experiment_id: string }).experiment_id;
    const run = await fetch(`${server.url}/api/2.0/mlflow/runs/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ experiment_id: experimentId, run_name: 'behind-prefix' }),
    });
    const runId = ((await run.json()) as { run: { info: { run_id: string } } }).run.info.run_id;
    const metrics = Array.from({ length: 20 }, (_, step) => ({ key: 'loss', value: 1 / (step + 1), timestamp: 1_700_000_000_000 + step, step }));
    await fetch(`${server.url}/api/2.0/mlflow/runs/log-batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ run_id: runId, metrics }),
    });
    // What an ingress with `path: /mlflow(/|$)(.*)` and a rewrite to `/$2` does; anything else is not ours.
    const target = new URL(server.url);
    proxy = http.createServer((req, res) => {
      if (!req.url?.startsWith('/mlflow/')) {
        res.writeHead(404).end('not routed');
        return;
      }
      const upstream = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url.slice('/mlflow'.length), headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/mlflow/`;
  });
  afterAll(async () => {
    await ifStarted(browser)?.close();
    const started = ifStarted(proxy);
    if (started) await new Promise((resolve) => started.close(resolve));
    await ifStarted(server)?.stop();
  });

  test('assets, API calls and charts all resolve under the prefix', async () => {
    browser = await launchBrowser();
    const page = await browser.context.newPage();
    const outside: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(proxyUrl)) outside.push(r.url());
    });
    await page.goto(`${proxyUrl}#/experiments`);
    await page.click('text=prefixed');
    await page.click('text=behind-prefix');
    await page.click('nav.tabs a:has-text("Model metrics")');
    const chart = page.locator('.chart[data-metric="loss"]');
    await eventually(async () => expect(await chart.getAttribute('data-points')).toBe('20'));
    expect(outside).toEqual([]);
    await page.screenshot({ path: screenshotPath('09-path-prefix'), fullPage: true });
  });
});
