/**
 * Screenshots (not a test): this server's web UI and MLflow's own, side by side, for the same runs.
 * Run: `npx tsx test/ui/side-by-side.ts` with MLflow's full server installed (`python3 -m venv
 * .venv-mlflow-server && .venv-mlflow-server/bin/pip install 'mlflow>=3,<4'`, or MLOPS_MLFLOW_SERVER
 * pointing at an `mlflow` executable). Starts both servers on fresh SQLite stores, runs
 * test/ui/python/seed_runs.py (the official 3.x client) against each, then shoots the same views into
 * test-artifacts/ui/side-by-side/<NN>-<view>-{ours,mlflow}.png.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot } from '../helpers/cli';
import { freePort } from '../helpers/ports';
import { pythonExecutable } from '../helpers/python';
import { runPythonScript, startTestServer, tmpDir } from '../tracking/helpers';
import { launchBrowser } from './browser';
import { ensureUiBuilt } from './build';

interface Seeded {
  experiment_id: string;
  parent_run_id: string;
  child_run_ids: string[];
  model_id: string;
  model_name: string;
}

const OUT = path.join(repoRoot, 'test-artifacts', 'ui', 'side-by-side');

async function startMlflow(dir: string): Promise<{ url: string; proc: ChildProcess }> {
  const exe = process.env.MLOPS_MLFLOW_SERVER ?? path.join(repoRoot, '.venv-mlflow-server', 'bin', 'mlflow');
  if (!fs.existsSync(exe)) throw new Error(`MLflow's server is not installed at ${exe} (see the header of this file)`);
  const port = await freePort();
  const proc = spawn(
    exe,
    [
      'server',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      '1',
      '--backend-store-uri',
      `sqlite:///${dir}/mlflow.db`,
      '--artifacts-destination',
      `${dir}/artifacts`,
    ],
    {
      stdio: ['ignore', fs.openSync(path.join(dir, 'mlflow.log'), 'w'), fs.openSync(path.join(dir, 'mlflow.err'), 'w')],
      env: { ...process.env, MLFLOW_DISABLE_TELEMETRY: 'true' },
      detached: true, // its own process group: `mlflow server` runs uvicorn as a child, stopped with it
    },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 240; i++) {
    if (proc.exitCode !== null) throw new Error(`mlflow server exited ${proc.exitCode}; see ${dir}/mlflow.err`);
    if (
      await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { url, proc };
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('mlflow server did not answer /health within 2 minutes');
}

async function seed(url: string): Promise<Seeded> {
  return runPythonScript(pythonExecutable(), path.join(__dirname, 'python', 'seed_runs.py'), [url, 'iris-autolog', tmpDir('side-seed')], {}, 600_000);
}

/** Opens `url`, waits for the page to settle, runs `then` (clicks), and shoots it. */
async function shoot(page: Page, url: string, file: string, then?: (page: Page) => Promise<void>): Promise<void> {
  await page.goto(url);
  await page.waitForLoadState('networkidle').catch(() => undefined);
  await page.waitForTimeout(2500);
  if (then) await then(page).catch((e: unknown) => process.stdout.write(`  (${file}: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]})\n`));
  await page.waitForTimeout(1500);
  await page.screenshot({ path: path.join(OUT, file), fullPage: true });
  process.stdout.write(`  ${path.relative(repoRoot, path.join(OUT, file))}\n`);
}

/** Lazily loaded cards fetch once scrolled to; scroll through so the full-page shot has them all. */
async function scrollThrough(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const w = globalThis as any;
    for (let y = 0; y < w.document.body.scrollHeight; y += 600) {
      w.scrollTo(0, y);
      await new Promise((r) => setTimeout(r, 150));
    }
    w.scrollTo(0, 0);
  });
}

async function main(): Promise<void> {
  ensureUiBuilt();
  fs.mkdirSync(OUT, { recursive: true });
  const dir = tmpDir('side-mlflow');
  const ours = await startTestServer('sqlite');
  const mlflow = await startMlflow(dir);
  const browser = await launchBrowser();
  try {
    process.stdout.write(`seeding ours (${ours.url}) and MLflow's (${mlflow.url}) with the MLflow 3.x client…\n`);
    const a = await seed(ours.url);
    const b = await seed(mlflow.url);
    // MLflow's pages scroll inside their own container, so a tall window stands in for a full-page shot.
    const oursPage = await browser.context.newPage();
    await oursPage.setViewportSize({ width: 1400, height: 1000 });
    const theirs = await browser.context.newPage();
    await theirs.setViewportSize({ width: 1400, height: 2200 });
    const O = ours.url;
    const M = mlflow.url;
    const mRun = (s: Seeded, tail = '') => `${M}/#/experiments/${s.experiment_id}/runs/${s.parent_run_id}${tail}`;
    const oRun = (s: Seeded, q = '') => `${O}/#/runs/${s.parent_run_id}${q}`;
    const views: [string, () => Promise<void>, () => Promise<void>][] = [
      [
        '01-runs-nested',
        () => shoot(oursPage, `${O}/#/experiments/${a.experiment_id}`, '01-runs-nested-ours.png', (p) => p.click('button.expander')),
        () =>
          shoot(theirs, `${M}/#/experiments/${b.experiment_id}/runs`, '01-runs-nested-mlflow.png', (p) =>
            p.locator('[data-testid="experiment-view-runs-table"] button, .ag-row button').first().click(),
          ),
      ],
      ['02-run-overview', () => shoot(oursPage, oRun(a), '02-run-overview-ours.png'), () => shoot(theirs, mRun(b), '02-run-overview-mlflow.png')],
      [
        '03-model-metrics',
        () => shoot(oursPage, oRun(a, '?tab=metrics'), '03-model-metrics-ours.png', scrollThrough),
        () => shoot(theirs, mRun(b, '/model-metrics'), '03-model-metrics-mlflow.png'),
      ],
      [
        '04-system-metrics',
        () => shoot(oursPage, oRun(a, '?tab=system'), '04-system-metrics-ours.png', scrollThrough),
        () => shoot(theirs, mRun(b, '/system-metrics'), '04-system-metrics-mlflow.png'),
      ],
      [
        '05-table-artifact',
        () =>
          shoot(oursPage, oRun(a, '?tab=artifacts'), '05-table-artifact-ours.png', async (p) => {
            await p.click('.artifact-tree button:has-text("tables/")');
            await p.click('.artifact-tree button:has-text("predictions.json")');
          }),
        () => shoot(theirs, mRun(b, '/artifacts/tables/predictions.json'), '05-table-artifact-mlflow.png'),
      ],
      [
        '06-image-artifact',
        () =>
          shoot(oursPage, oRun(a, '?tab=artifacts'), '06-image-artifact-ours.png', async (p) => {
            await p.click('.artifact-tree button:has-text("plots/")');
            await p.click('.artifact-tree button:has-text("confusion_matrix.png")');
          }),
        () => shoot(theirs, mRun(b, '/artifacts/plots/confusion_matrix.png'), '06-image-artifact-mlflow.png'),
      ],
      [
        '07-logged-model',
        () =>
          shoot(oursPage, oRun(a, '?tab=artifacts'), '07-logged-model-ours.png', (p) =>
            p.locator(`.model-tree[data-model-id="${a.model_id}"] button:has-text("MLmodel")`).click(),
          ),
        () => shoot(theirs, `${M}/#/experiments/${b.experiment_id}/models/${b.model_id}/artifacts`, '07-logged-model-mlflow.png'),
      ],
      [
        '08-compare',
        () =>
          shoot(
            oursPage,
            `${O}/#/compare?runs=${a.child_run_ids.join(',')}&experiment=${a.experiment_id}&metric=mean_test_score`,
            '08-compare-ours.png',
            scrollThrough,
          ),
        () =>
          shoot(
            theirs,
            `${M}/#/compare-runs?runs=${encodeURIComponent(JSON.stringify(b.child_run_ids))}&experiments=${encodeURIComponent(JSON.stringify([b.experiment_id]))}`,
            '08-compare-mlflow.png',
          ),
      ],
      [
        '09-registered-model',
        () => shoot(oursPage, `${O}/#/models/${a.model_name}`, '09-registered-model-ours.png'),
        () => shoot(theirs, `${M}/#/models/${b.model_name}`, '09-registered-model-mlflow.png'),
      ],
    ];
    for (const [name, mine, theirsShot] of views) {
      process.stdout.write(`${name}\n`);
      await mine();
      await theirsShot();
    }
  } finally {
    await browser.close();
    if (mlflow.proc.pid) process.kill(-mlflow.proc.pid, 'SIGTERM');
    await ours.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
