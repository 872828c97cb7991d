// The registry pages against the real server's model registry: MLflow's registry REST API
// (registered-models/*, model-versions/*, aliases) and the audit endpoint the UI calls
// (`GET …/model-versions/audit?name=`, answering `{entries: [{timestamp, user_id, action, version, …}]}`).
import type { Page } from 'playwright-core';
import { describeWithTool } from '../helpers/tools';
import { api, startTestServer, type TestServer } from '../tracking/helpers';
import { chromiumAvailability, eventually, launchBrowser, screenshotPath, type TestBrowser } from './browser';
import { ensureUiBuilt } from './build';
import { ifStarted } from '../helpers/lifecycle';

jest.setTimeout(120_000);

async function ok(p: Promise<{ status: number; body: any }>, what: string): Promise<any> {
  const r = await p;
  if (r.status !== 200) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

// The registry pages against the real server's model registry, seeded through MLflow's REST API.
describeWithTool('web UI model registry in headless Chromium', chromiumAvailability(), () => {
  let server: TestServer;
  let browser: TestBrowser;
  let page: Page;
  let runId: string;

  beforeAll(async () => {
    ensureUiBuilt();
    server = await startTestServer('sqlite');
    const exp = (await ok(api(server.url, 'POST', '/experiments/create', { name: 'fraud' }), 'experiments/create')).experiment_id;
    runId = (await ok(api(server.url, 'POST', '/runs/create', { experiment_id: exp, run_name: 'gbm-v2' }), 'runs/create')).run.info.run_id;
    await ok(
      api(server.url, 'POST', '/registered-models/create', { name: 'fraud-detector', description: 'Scores card transactions' }),
      'registered-models/create',
    );
    await ok(api(server.url, 'POST', '/registered-models/create', { name: 'churn-model' }), 'registered-models/create');
    for (let i = 0; i < 2; i++) {
      await ok(
        api(server.url, 'POST', '/model-versions/create', { name: 'fraud-detector', source: `runs:/${runId}/model`, run_id: runId }),
        'model-versions/create',
      );
    }
    await ok(
      api(server.url, 'POST', '/model-versions/transition-stage', {
        name: 'fraud-detector',
        version: '2',
        stage: 'Production',
        archive_existing_versions: false,
      }),
      'transition-stage',
    );
    await ok(api(server.url, 'POST', '/registered-models/alias', { name: 'fraud-detector', alias: 'champion', version: '2' }), 'registered-models/alias');
    browser = await launchBrowser();
    page = await browser.context.newPage();
  });
  afterAll(async () => {
    await ifStarted(browser)?.close();
    await ifStarted(server)?.stop();
  });

  test('the registered models list shows each model with its alias and searches by name', async () => {
    await page.goto(`${server.url}/#/models`);
    const table = page.locator('table[aria-label="Registered models"]');
    await eventually(async () => expect(await table.locator('tbody tr').count()).toBe(2));
    expect(await table.textContent()).toContain('@champion → v2');
    await page.screenshot({ path: screenshotPath('10-models'), fullPage: true });
    await page.fill('input[aria-label="Search models"]', 'fraud');
    await page.press('input[aria-label="Search models"]', 'Enter');
    await eventually(async () => expect(await table.locator('tbody tr a').allTextContents()).toEqual(['fraud-detector']));
  });

  test('a model page shows versions with stage and alias, the audit trail, and links to the source run', async () => {
    await page.click('text=fraud-detector');
    const versions = page.locator('table[aria-label="Versions"]');
    await eventually(async () => expect(await versions.locator('tbody tr').count()).toBe(2));
    const v2 = versions.locator('tr[data-version="2"]');
    expect(await v2.textContent()).toContain('Production');
    expect(await v2.textContent()).toContain('@champion');
    expect(await page.locator('.aliases').textContent()).toContain('@champion → v2');

    const audit = page.locator('table[aria-label="Audit trail"]');
    await eventually(async () => expect(await audit.locator('tbody tr').count()).toBeGreaterThanOrEqual(4));
    const trail = (await audit.textContent()) ?? '';
    expect(trail).toMatch(/alias/i);
    expect(trail).toMatch(/stage|transition/i);
    await page.screenshot({ path: screenshotPath('11-model'), fullPage: true });

    await v2.locator('a').first().click();
    await eventually(() => expect(page.url()).toContain(`#/runs/${runId}`));
    await eventually(async () => expect(await page.locator('h1').textContent()).toBe('gbm-v2'));
  });

  test('an unknown model says so', async () => {
    await page.goto(`${server.url}/#/models/${encodeURIComponent('no-such-model')}`);
    await eventually(async () => expect(await page.locator('[role="alert"]').textContent()).toContain('RESOURCE_DOES_NOT_EXIST'));
  });
});
