/**
 * Benchmark (not a test): how long the web UI takes to first show each view of a 1,000-run experiment.
 * Run: `npx tsx test/ui/bench-first-render.ts [runs] [repeats]` (defaults 1000 and 10; builds the UI if
 * needed). Seeds one experiment on a fresh SQLite server over loopback HTTP: `runs` runs, every tenth a
 * parent of the nine after it (as autolog's tuning does), each with 10 params, 10 metrics (one with a
 * 50-step history) and 4 tags. Then headless Chromium opens each view `repeats` times in a new tab.
 *
 * "First render" = from navigation start (the page's `performance.timeOrigin`) to the first animation
 * frame after the view's content is in the DOM: the runs table's rows, the run page's metrics table,
 * the first chart card of the metrics grid, the compare page's parallel-coordinates lines. The first
 * load of a fresh browser profile (nothing cached) is reported apart from the warm median.
 */
import type { BrowserContext } from 'playwright-core';
import { api, startTestServer } from '../tracking/helpers';
import { launchBrowser } from './browser';
import { ensureUiBuilt } from './build';

const T0 = Date.UTC(2026, 0, 1);

async function seed(base: string, runs: number): Promise<{ experimentId: string; runIds: string[] }> {
  const experimentId: string = (await api(base, 'POST', '/experiments/create', { name: `bench-${runs}-runs` })).body.experiment_id;
  const runIds: string[] = [];
  let parent = '';
  for (let i = 0; i < runs; i++) {
    const tags = [{ key: 'team', value: 'vision' }, ...(i % 10 ? [{ key: 'mlflow.parentRunId', value: parent }] : [])];
    const created = await api(base, 'POST', '/runs/create', {
      experiment_id: experimentId,
      run_name: `run-${String(i).padStart(4, '0')}`,
      start_time: T0 + i * 1000,
      tags,
    });
    const runId: string = created.body.run.info.run_id;
    if (i % 10 === 0) parent = runId;
    runIds.push(runId);
    const metrics = Array.from({ length: 10 }, (_, k) => ({ key: `metric_${k}`, value: Math.random(), timestamp: T0 + i * 1000, step: 0 }));
    metrics.push(
      ...Array.from({ length: 50 }, (_, step) => ({ key: 'loss', value: 1 / (step + 1) + Math.random() / 10, timestamp: T0 + i * 1000 + step, step })),
    );
    const params = Array.from({ length: 10 }, (_, k) => ({ key: `param_${k}`, value: String((i * (k + 1)) % 7) }));
    await api(base, 'POST', '/runs/log-batch', {
      run_id: runId,
      metrics,
      params,
      tags: [
        { key: 'dataset', value: 'cifar-mini' },
        { key: 'stage', value: 'dev' },
        { key: 'owner', value: 'bench' },
      ],
    });
    await api(base, 'POST', '/runs/update', { run_id: runId, status: 'FINISHED', end_time: T0 + i * 1000 + 900 });
  }
  return { experimentId, runIds };
}

/** Milliseconds from navigation start to the first frame after `selector` matched. */
async function firstRender(context: BrowserContext, url: string, selector: string): Promise<number> {
  const page = await context.newPage();
  try {
    // A string, not a function: tsx would compile a function with helpers (`__name`) the page lacks.
    await page.addInitScript({
      content: `(() => {
        const sel = ${JSON.stringify(selector)};
        const check = () => {
          if (window.__rendered === undefined && document.querySelector(sel)) {
            window.__rendered = null;
            requestAnimationFrame(() => (window.__rendered = performance.now()));
          }
        };
        new MutationObserver(check).observe(document, { childList: true, subtree: true });
      })();`,
    });
    await page.goto(url);
    try {
      await page.waitForFunction(() => typeof (globalThis as any).__rendered === 'number', undefined, { timeout: 30_000 });
    } catch (e) {
      const state = await page.evaluate(
        (sel: string) => ({
          rendered: (globalThis as any).__rendered,
          found: !!(globalThis as any).document.querySelector(sel),
          html: (globalThis as any).document.body?.innerHTML.slice(0, 300),
        }),
        selector,
      );
      throw new Error(`${url}: ${selector} never rendered (${JSON.stringify(state)}): ${(e as Error).message}`);
    }
    return await page.evaluate(() => (globalThis as any).__rendered as number);
  } finally {
    await page.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 1000);
  const repeats = Number(process.argv[3] ?? 10);
  ensureUiBuilt();
  const server = await startTestServer('sqlite');
  const browser = await launchBrowser();
  try {
    const started = Date.now();
    const { experimentId, runIds } = await seed(server.url, runs);
    process.stdout.write(`seeded ${runs} runs in ${((Date.now() - started) / 1000).toFixed(0)} s (SQLite, loopback)\n`);
    const parent = runIds[0];
    const views: [string, string, string][] = [
      ['runs table (25 rows, nested)', `${server.url}/#/experiments/${experimentId}`, 'table[aria-label="Runs"] tbody tr'],
      ['run page, overview', `${server.url}/#/runs/${parent}`, 'table[aria-label="Metrics"] tbody tr'],
      ['run page, metrics grid (11 charts)', `${server.url}/#/runs/${parent}?tab=metrics`, '[data-metric-card="loss"] canvas'],
      [
        'compare 10 runs (parallel coordinates)',
        `${server.url}/#/compare?runs=${runIds.slice(0, 10).join(',')}&experiment=${experimentId}`,
        'svg.parallel g.run',
      ],
    ];
    process.stdout.write(`first render = navigation start → first frame with the view's content; ${repeats} loads each, headless Chromium, 2 shared cores\n`);
    process.stdout.write(`${'view'.padEnd(42)} ${'cold'.padStart(8)} ${'median'.padStart(8)} ${'max'.padStart(8)}\n`);
    for (const [name, url, selector] of views) {
      const fresh = await launchBrowser();
      let cold: number;
      try {
        cold = await firstRender(fresh.context, url, selector);
      } finally {
        await fresh.close();
      }
      await firstRender(browser.context, url, selector); // warm the cache
      const times: number[] = [];
      for (let i = 0; i < repeats; i++) times.push(await firstRender(browser.context, url, selector));
      process.stdout.write(
        `${name.padEnd(42)} ${cold.toFixed(0).padStart(6)}ms ${median(times).toFixed(0).padStart(6)}ms ${Math.max(...times)
          .toFixed(0)
          .padStart(6)}ms\n`,
      );
    }
  } finally {
    await browser.close();
    await server.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
