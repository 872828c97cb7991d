// The web UI against runs the official MLflow 3.x client made (test/ui/python/seed_runs.py): sklearn
// autolog around a GridSearchCV (its candidates become child runs), datasets from log_input, system
// metrics, key+step images, a log_table table, a long metric name, and an MLflow 3 logged model that is
// registered. The server runs with basic auth, so every edit goes through the same permission checks as
// the clients: an admin's edits land (checked back over REST), a READ-only user's are refused with the
// server's 403 on screen.
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ADMIN, as, createUser, startAuthServer, type AuthTestServer, type Credentials } from '../auth/helpers';
import { pythonExecutable, pythonModulesAvailability } from '../helpers/python';
import { describeWithTool, type Availability } from '../helpers/tools';
import { runPythonScript, tmpDir } from '../tracking/helpers';
import { chromiumAvailability, eventually, launchBrowser, screenshotPath, type TestBrowser } from './browser';
import { ensureUiBuilt } from './build';
import { ifStarted } from '../helpers/lifecycle';

jest.setTimeout(300_000);

interface Seeded {
  experiment_id: string;
  parent_run_id: string;
  child_run_ids: string[];
  model_id: string;
  model_name: string;
  model_version: string;
  long_metric: string;
  image_key: string;
  image_steps: number;
}

function both(a: Availability, b: Availability): Availability {
  return a.ok ? b : a;
}

const needs = both(chromiumAvailability(), pythonModulesAvailability(['mlflow', 'sklearn', 'psutil', 'PIL']));
const shot = (page: Page, name: string) => page.screenshot({ path: screenshotPath(name), fullPage: true });

/** Scrolls to the bottom and back so lazily loaded grid cards all fetch, then waits for none to be loading. */
async function loadAllCards(page: Page): Promise<void> {
  await page.evaluate(() => (globalThis as any).window.scrollTo(0, (globalThis as any).document.body.scrollHeight));
  await eventually(async () => expect(await page.locator('.card-placeholder').count()).toBe(0));
  await page.evaluate(() => (globalThis as any).window.scrollTo(0, 0));
}

describeWithTool('web UI with runs from the real MLflow 3.x client', needs, () => {
  let server: AuthTestServer;
  let admin: ReturnType<typeof as>;
  let browser: TestBrowser;
  let page: Page;
  let seeded: Seeded;
  let run: any;
  let viewer: Credentials;

  beforeAll(async () => {
    ensureUiBuilt();
    server = await startAuthServer('sqlite');
    admin = as(server, ADMIN);
    seeded = await runPythonScript(
      pythonExecutable(),
      path.join(__dirname, 'python', 'seed_runs.py'),
      [server.url, 'iris-autolog', tmpDir('ui-seed')],
      { MLFLOW_TRACKING_USERNAME: ADMIN.username, MLFLOW_TRACKING_PASSWORD: ADMIN.password },
      240_000,
    );
    run = (await admin('GET', '/runs/get', { run_id: seeded.parent_run_id })).body.run;
    viewer = await createUser(server, 'viewer');
    expect(
      (await admin('POST', '/experiments/permissions/create', { experiment_id: seeded.experiment_id, username: 'viewer', permission: 'READ' })).status,
    ).toBe(200);
    browser = await launchBrowser({ httpCredentials: ADMIN });
    page = await browser.context.newPage();
    page.on('pageerror', (e) => {
      throw e;
    });
  });
  afterAll(async () => {
    await ifStarted(browser)?.close();
    await ifStarted(server)?.stop();
  });

  const runUrl = (runId: string, query = '') => `${server.url}/#/runs/${runId}${query}`;
  const metricKeys = () => [...new Set<string>(run.data.metrics.map((m: { key: string }) => m.key))];

  test('the runs table nests the tuning candidates under the GridSearchCV run, expand and collapse', async () => {
    expect(seeded.child_run_ids).toHaveLength(4);
    await page.goto(`${server.url}/#/experiments/${seeded.experiment_id}`);
    const rows = page.locator('table[aria-label="Runs"] tbody tr');
    await eventually(async () => expect(await rows.count()).toBe(1));
    expect(await rows.first().getAttribute('data-run-id')).toBe(seeded.parent_run_id);
    expect(await rows.first().textContent()).toContain('4 child runs');
    await page.click('button[aria-label="Show child runs of svc-grid-search"]');
    await eventually(async () => expect(await rows.count()).toBe(5));
    const children = await page
      .locator('table[aria-label="Runs"] tbody tr[data-depth="1"]')
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-run-id')));
    expect(children.sort()).toEqual(seeded.child_run_ids);
    await shot(page, 'real-01-runs-nested');
    await page.click('button[aria-label="Hide child runs of svc-grid-search"]');
    await eventually(async () => expect(await rows.count()).toBe(1));
  });

  test('the parent lists its child runs; a child links back to its parent', async () => {
    await page.goto(runUrl(seeded.parent_run_id));
    const list = page.locator('ul[aria-label="Child runs"] a');
    await eventually(async () => expect(await list.count()).toBe(4));
    const hrefs = await list.evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    expect(hrefs.map((h) => h!.replace('#/runs/', '')).sort()).toEqual(seeded.child_run_ids);
    await list.first().click();
    await eventually(async () => expect(await page.locator('a.parent-run').textContent()).toBe('svc-grid-search'));
  });

  test("overview: the run's datasets, its logged models and the registered version", async () => {
    await page.goto(runUrl(seeded.parent_run_id));
    const datasets = page.locator('table[aria-label="Datasets"] tbody tr');
    await eventually(async () => expect(await datasets.count()).toBe(2));
    for (const input of run.inputs.dataset_inputs) {
      const row = page.locator(`table[aria-label="Datasets"] tr[data-dataset="${input.dataset.name}"]`);
      const context = input.tags.find((t: { key: string }) => t.key === 'mlflow.data.context').value;
      expect(await row.textContent()).toContain(input.dataset.digest);
      expect(await row.textContent()).toContain(context);
    }
    expect(await page.locator('tr[data-dataset="iris-train"]').textContent()).toContain('105'); // profile num_rows
    const models = page.locator('table[aria-label="Logged models"]');
    await eventually(async () =>
      expect(await models.locator(`tr[data-model-id="${seeded.model_id}"]`).textContent()).toContain(`${seeded.model_name} v${seeded.model_version}`),
    );
    // autolog logs the GridSearchCV and its best estimator: both outputs of the run.
    expect(await models.locator('tbody tr').count()).toBe(run.outputs.model_outputs.length);
    const version = page.locator(`table[aria-label="Registered model versions"] tr[data-version="${seeded.model_name}/${seeded.model_version}"]`);
    await eventually(async () => expect(await version.textContent()).toContain(`models:/${seeded.model_id}`));
    await shot(page, 'real-02-run-overview');
  });

  test('a long metric name wraps inside the metrics table instead of pushing the values aside', async () => {
    // Narrow enough that the 78-character name (no spaces to break at) cannot fit on one line.
    await page.setViewportSize({ width: 640, height: 900 });
    try {
      await page.goto(runUrl(seeded.parent_run_id));
      await page.locator('table[aria-label="Metrics"]').waitFor();
      const cell = page.locator('table[aria-label="Metrics"] td', { hasText: seeded.long_metric });
      const table = await page.locator('table[aria-label="Metrics"]').boundingBox();
      const main = await page.locator('main').evaluate((m: { getBoundingClientRect(): { left: number }; clientWidth: number; scrollWidth: number }) => ({
        right: m.getBoundingClientRect().left + m.clientWidth,
        scroll: m.scrollWidth,
        client: m.clientWidth,
      }));
      const name = await cell.boundingBox();
      const value = await cell.locator('xpath=following-sibling::td[1]').boundingBox();
      expect(table!.x + table!.width).toBeLessThanOrEqual(main.right + 1);
      expect(main.scroll).toBeLessThanOrEqual(main.client);
      // Wrapped onto more lines: its row is taller than a one-line row's.
      const short = await page.locator('table[aria-label="Metrics"] td', { hasText: /^train_loss$/ }).boundingBox();
      expect(name!.height).toBeGreaterThan(short!.height + 8);
      expect(name!.x + name!.width).toBeLessThanOrEqual(value!.x + 1);
      await shot(page, 'real-02b-long-metric-name-narrow');
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });

  test('model metrics: one chart per metric, grouped by prefix, searchable, expandable', async () => {
    await page.click('nav.tabs a:has-text("Model metrics")');
    const model = metricKeys().filter((k) => !k.startsWith('system/'));
    const cards = page.locator('section[aria-label="Model metrics"] [data-metric-card]');
    await eventually(async () => expect(await cards.count()).toBe(model.length));
    expect((await cards.evaluateAll((els) => els.map((e) => e.getAttribute('data-metric-card')))).sort()).toEqual(model.sort());
    expect(await page.locator('h3.group-title', { hasText: 'validation/per_class' }).count()).toBe(1);
    await loadAllCards(page);
    // The long name wraps inside its card's heading: nothing spills sideways.
    const heading = page.locator(`[data-metric-card="${seeded.long_metric}"] h3`);
    const fit = await heading.evaluate((h: any) => ({ scroll: h.scrollWidth, client: h.clientWidth }));
    expect(fit.scroll).toBeLessThanOrEqual(fit.client);
    await shot(page, 'real-03-model-metrics');

    await page.fill('input[aria-label="Search model metrics"]', 'train_loss');
    await eventually(async () => expect(await cards.count()).toBe(1));
    await page.click('button[aria-label="Expand train_loss"]');
    const chart = page.locator('.expanded-chart .chart[data-metric="train_loss"]');
    await eventually(async () => expect(await chart.getAttribute('data-points')).toBe('5'));
    expect(page.url()).toContain('tab=metrics&metric=train_loss');
    await shot(page, 'real-04-metric-expanded');
  });

  test('system metrics have their own tab, charted from the monitor’s samples', async () => {
    await page.goto(runUrl(seeded.parent_run_id, '?tab=system'));
    const system = metricKeys().filter((k) => k.startsWith('system/'));
    expect(system).toEqual(expect.arrayContaining(['system/cpu_utilization_percentage', 'system/system_memory_usage_megabytes']));
    const cards = page.locator('section[aria-label="System metrics"] [data-metric-card]');
    await eventually(async () => expect(await cards.count()).toBe(system.length));
    await loadAllCards(page);
    const memory = page.locator('[data-metric-card="system/system_memory_usage_megabytes"] .chart');
    expect(Number(await memory.getAttribute('data-points'))).toBeGreaterThan(1);
    expect(await page.locator('section[aria-label="System metrics"] [data-metric-card="train_loss"]').count()).toBe(0);
    await shot(page, 'real-05-system-metrics');
  });

  test('key+step images: a card per key, a slider over its steps', async () => {
    await page.goto(runUrl(seeded.parent_run_id, '?tab=metrics'));
    const card = page.locator(`[data-image-key="${seeded.image_key}"]`);
    await eventually(async () => expect(await card.getAttribute('data-step')).toBe(String(seeded.image_steps - 1)));
    const slider = card.locator('input[type="range"]');
    expect(await slider.getAttribute('max')).toBe(String(seeded.image_steps - 1));
    await slider.fill('0');
    await eventually(async () => expect(await card.getAttribute('data-step')).toBe('0'));
    const src = await card.locator('img').getAttribute('src');
    // MLflow's file name: images/<key with / as ~>+step+<step>+timestamp+…
    expect(decodeURIComponent(src!)).toContain('images/eval~decision_boundary+step+0+');
    await eventually(async () => expect(await card.locator('img').evaluate((img: any) => img.naturalWidth)).toBeGreaterThan(0));
    await card.scrollIntoViewIfNeeded();
    await shot(page, 'real-06-images');
  });

  test('artifacts: a log_table file as a sortable table, an image at a readable size, the logged model’s files', async () => {
    await page.goto(runUrl(seeded.parent_run_id, '?tab=artifacts'));
    await page.click('.artifact-tree button:has-text("tables/")');
    await page.click('.artifact-tree button:has-text("predictions.json")');
    const table = page.locator('table[aria-label="Logged table"]');
    await eventually(async () => expect(await table.locator('tbody tr').count()).toBe(45));
    expect(await table.locator('thead th').allTextContents()).toEqual(['sepal_length', 'label', 'prediction']);
    const firstColumn = () => table.locator('tbody tr td:first-child').allTextContents();
    const values = (await firstColumn()).map(Number);
    await page.click('table[aria-label="Logged table"] button:has-text("sepal_length")');
    await eventually(async () => expect((await firstColumn()).map(Number)).toEqual([...values].sort((a, b) => a - b)));
    await page.click('table[aria-label="Logged table"] button:has-text("sepal_length")');
    await eventually(async () => expect((await firstColumn()).map(Number)).toEqual([...values].sort((a, b) => b - a)));
    await shot(page, 'real-07-table');

    await page.click('.artifact-tree button:has-text("plots/")');
    await page.click('.artifact-tree button:has-text("confusion_matrix.png")');
    const img = page.locator('.preview img.artifact-image');
    await eventually(async () => expect(await img.evaluate((i: any) => i.naturalWidth)).toBe(64));
    expect((await img.boundingBox())!.width).toBeGreaterThanOrEqual(320); // a 64-px image scaled up to be seen
    await shot(page, 'real-08-image');

    // MLflow 3 writes the model under the logged model, not the run: its files are listed here too.
    const files = page.locator(`.model-tree[data-model-id="${seeded.model_id}"]`);
    await files.locator('button:has-text("MLmodel")').click();
    await eventually(async () => expect(await page.locator('pre.text-preview').textContent()).toContain('flavors:'));
    expect(await page.locator('pre.text-preview').textContent()).toContain(seeded.model_id);
    await shot(page, 'real-09-model-files');
  });

  test('an editor renames the run, writes its description and edits tags, all through the REST API', async () => {
    const target = seeded.child_run_ids[0];
    const get = async () => (await admin('GET', '/runs/get', { run_id: target })).body.run;
    const tag = (r: any, key: string) => r.data.tags.find((t: { key: string }) => t.key === key)?.value;
    await page.goto(runUrl(target));
    await page.click('.title-row button:has-text("Rename")');
    await page.fill('input[aria-label="Run name"]', 'svc-C-candidate');
    await page.click('.title-row button:has-text("Save")');
    await eventually(async () => expect(await page.locator('h1').textContent()).toBe('svc-C-candidate'));
    expect((await get()).info.run_name).toBe('svc-C-candidate');

    await page.click('button:has-text("Add a description")');
    await page.fill('textarea[aria-label="Description"]', 'Linear kernel, C=1.\nBest of the grid.');
    await page.click('form.description button:has-text("Save")');
    await eventually(async () => expect(await page.locator('p.note').textContent()).toBe('Linear kernel, C=1.\nBest of the grid.'));
    expect(tag(await get(), 'mlflow.note.content')).toBe('Linear kernel, C=1.\nBest of the grid.');

    await page.click('button:has-text("Add tag")');
    await page.fill('input[aria-label="Tag key"]', 'reviewed');
    await page.fill('input[aria-label="Tag value"]', 'yes');
    await page.click('button:has-text("Save tag")');
    await eventually(async () => expect(await page.locator('tr[data-tag="reviewed"]').textContent()).toContain('yes'));
    await page.click('button[aria-label="Edit tag reviewed"]');
    await page.fill('input[aria-label="Tag value"]', 'by the platform team');
    await page.click('button:has-text("Save tag")');
    await eventually(async () => expect(tag(await get(), 'reviewed')).toBe('by the platform team'));
    await shot(page, 'real-10-edited');
    await page.click('button[aria-label="Delete tag reviewed"]');
    await eventually(async () => expect(await page.locator('tr[data-tag="reviewed"]').count()).toBe(0));
    expect(tag(await get(), 'reviewed')).toBeUndefined();
  });

  test("a READ-only user sees the server's 403 when editing, and nothing changes", async () => {
    const readOnly = await launchBrowser({ httpCredentials: viewer });
    try {
      const view = await readOnly.context.newPage();
      await view.goto(runUrl(seeded.parent_run_id));
      await view.click('.title-row button:has-text("Rename")');
      await view.fill('input[aria-label="Run name"]', 'hijacked');
      await view.click('.title-row button:has-text("Save")');
      const alert = view.locator('.save-error[role="alert"]');
      await eventually(async () => expect(await alert.textContent()).toContain('PERMISSION_DENIED'));
      expect(await alert.textContent()).toContain('EDIT permission');
      await view.screenshot({ path: screenshotPath('real-11-read-only-refused'), fullPage: true });
      await view.click('.title-row button:has-text("Cancel")');
      await view.click('button:has-text("Add tag")');
      await view.fill('input[aria-label="Tag key"]', 'sneaky');
      await view.click('button:has-text("Save tag")');
      await eventually(async () => expect(await view.locator('.save-error').textContent()).toContain('PERMISSION_DENIED'));
    } finally {
      await readOnly.close();
    }
    const after = (await admin('GET', '/runs/get', { run_id: seeded.parent_run_id })).body.run;
    expect(after.info.run_name).toBe('svc-grid-search');
    expect(after.data.tags.some((t: { key: string }) => t.key === 'sneaky')).toBe(false);
  });

  test('compare: parallel coordinates and a param/metric scatter across the candidates', async () => {
    await page.goto(`${server.url}/#/experiments/${seeded.experiment_id}`);
    await page.click('button[aria-label="Show child runs of svc-grid-search"]');
    await eventually(async () => expect(await page.locator('table[aria-label="Runs"] tbody tr[data-depth="1"]').count()).toBe(4));
    for (const id of seeded.child_run_ids) await page.check(`tr[data-run-id="${id}"] input[type="checkbox"]`);
    await page.click('button:has-text("Compare 4 selected")');
    await page.selectOption('select[aria-label="Metric"]', 'mean_test_score');
    const parallel = page.locator('svg.parallel');
    await eventually(async () => expect(await parallel.locator('g.run').count()).toBe(4));
    // By default: the params that differ between the candidates (C and kernel), then the metric.
    expect(await parallel.locator('g.axis').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-axis')))).toEqual([
      'params.C',
      'params.kernel',
      'metrics.mean_test_score',
    ]);
    expect(await parallel.locator('g.run polyline').count()).toBe(4);
    const scatter = page.locator('svg.scatter');
    expect(await scatter.getAttribute('data-points')).toBe('4');
    await page.selectOption('select[aria-label="X axis"]', 'params.kernel');
    await eventually(async () => expect(await scatter.getAttribute('aria-label')).toBe('mean_test_score against param kernel, 4 runs'));
    await loadAllCards(page);
    await shot(page, 'real-12-compare');
  });
});
