// The Traces and Prompts pages against traces and prompts the official MLflow 3.x client made
// (test/ui/python/seed_traces_prompts.py: nested @mlflow.trace / start_span calls, one raising, a
// feedback assessment, a prompt with two versions and an alias, a chat prompt), on a real server.
// The span data is the client's own traces.json, read through the artifact proxy. Hostile span data
// (junk, an oversized file, markup in span names, a parent loop) is uploaded over REST to the
// locations the server assigned, as any writer to the experiment could.
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ADMIN, as, createUser, startAuthServer, type AuthTestServer, type Credentials } from '../auth/helpers';
import { repoRoot } from '../helpers/cli';
import { ifStarted } from '../helpers/lifecycle';
import { pythonExecutable, pythonModulesAvailability } from '../helpers/python';
import { describeWithTool, type Availability } from '../helpers/tools';
import { api, runPythonScript, startTestServer, type TestServer } from '../tracking/helpers';
import { chromiumAvailability, eventually, launchBrowser, screenshotPath, type TestBrowser } from './browser';
import { ensureUiBuilt } from './build';

jest.setTimeout(240_000);

interface Seeded {
  experiment_id: string;
  rag_trace_id: string;
  error_trace_id: string;
  trace_count: number;
  rag_span_names: string[];
  artifact_location: string;
  prompt: string;
  chat_prompt: string;
}

function both(a: Availability, b: Availability): Availability {
  return a.ok ? b : a;
}

const needs = both(chromiumAvailability(), pythonModulesAvailability(['mlflow']));

/** A screenshot for test-artifacts/ui/; with MLOPS_DOCS_SCREENSHOTS=1 also the README's copy in docs/. */
async function shot(page: Page, name: string, docsName?: string): Promise<void> {
  await page.screenshot({ path: screenshotPath(name), fullPage: true });
  if (docsName && process.env.MLOPS_DOCS_SCREENSHOTS === '1') await page.screenshot({ path: path.join(repoRoot, 'docs', `${docsName}.png`), fullPage: true });
}

async function ok(p: Promise<{ status: number; body: any }>, what: string): Promise<any> {
  const r = await p;
  if (r.status !== 200) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** StartTraceV3 as the client sends it; the server answers with the trace's artifact location tag. */
async function startTrace(url: string, experimentId: string, n: number, name: string): Promise<{ id: string; location: string }> {
  const id = `tr-${n.toString(16).padStart(32, '0')}`;
  const body = await ok(
    api(
      url,
      'POST',
      '/traces',
      {
        trace: {
          trace_info: {
            trace_id: id,
            trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
            request_time: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
            execution_duration: '0.25s',
            state: 'OK',
            request_preview: `{"n": ${n}}`,
            tags: { 'mlflow.traceName': name },
          },
        },
      },
      '/api/3.0/mlflow',
    ),
    'StartTraceV3',
  );
  return { id, location: body.trace.trace_info.tags['mlflow.artifactLocation'] };
}

/** Uploads `data` as the trace's traces.json through the artifact proxy, where the client puts it. */
async function uploadSpans(url: string, location: string, data: string | Buffer): Promise<void> {
  const rel = location.replace(/^mlflow-artifacts:\//, '');
  const res = await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/${rel}/traces.json`, { method: 'PUT', body: data });
  if (res.status !== 200) throw new Error(`upload traces.json: HTTP ${res.status} ${await res.text()}`);
}

/** Span names of the tree in row order, each with its depth. */
async function treeRows(page: Page): Promise<[string, number][]> {
  const rows = page.locator('table[aria-label="Spans"] tbody tr');
  const names = await rows.locator('td.span-name button').allTextContents();
  const depths = await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-depth'))));
  return names.map((n, i) => [n, depths[i]]);
}

const HOSTILE_SPANS = JSON.stringify({
  spans: [
    { span_id: 'a', parent_span_id: null, name: '<img src=x onerror="window.__pwned=1">root', start_time_unix_nano: 1000, end_time_unix_nano: 5000 },
    { span_id: 'b', parent_span_id: 'c', name: 'loop-b', start_time_unix_nano: 2000, end_time_unix_nano: 3000 },
    { span_id: 'c', parent_span_id: 'b', name: 'loop-c', start_time_unix_nano: 2500, end_time_unix_nano: 2600 },
    { span_id: 'd', parent_span_id: 'missing', name: 'orphan', start_time_unix_nano: 4000, end_time_unix_nano: 4500 },
    'not a span',
    { name: 'no id or time' },
  ],
});

describeWithTool('web UI traces and prompts with data from the real MLflow 3.x client', needs, () => {
  let server: TestServer;
  let browser: TestBrowser;
  let page: Page;
  let seeded: Seeded;
  let broken: { junk: string; huge: string; hostile: string; experimentId: string };
  let manyExperiment: string;
  const pageErrors: Error[] = [];

  beforeAll(async () => {
    ensureUiBuilt();
    server = await startTestServer('sqlite');
    seeded = await runPythonScript(pythonExecutable(), path.join(__dirname, 'python', 'seed_traces_prompts.py'), [server.url, 'rag-assistant', 'summarize']);
    const brokenExp = (await ok(api(server.url, 'POST', '/experiments/create', { name: 'broken-spans' }), 'experiments/create')).experiment_id;
    const junk = await startTrace(server.url, brokenExp, 1, 'junk');
    await uploadSpans(server.url, junk.location, '{"spans": [{"span_id": "x", "name": "cut off');
    const huge = await startTrace(server.url, brokenExp, 2, 'huge');
    await uploadSpans(server.url, huge.location, Buffer.alloc(17 * 1024 * 1024, 0x20));
    const hostile = await startTrace(server.url, brokenExp, 3, 'hostile');
    await uploadSpans(server.url, hostile.location, HOSTILE_SPANS);
    broken = { junk: junk.id, huge: huge.id, hostile: hostile.id, experimentId: brokenExp };
    manyExperiment = (await ok(api(server.url, 'POST', '/experiments/create', { name: 'many-traces' }), 'experiments/create')).experiment_id;
    for (let n = 100; n < 130; n++) await startTrace(server.url, manyExperiment, n, `call-${n}`);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e));
  });
  afterAll(async () => {
    await ifStarted(browser)?.close();
    await ifStarted(server)?.stop();
  });
  afterEach(() => expect(pageErrors).toEqual([]));

  test('the Traces tab lists the client traces with status, latency, span count and tags', async () => {
    expect(seeded.trace_count).toBe(3);
    await page.goto(`${server.url}/#/experiments/${seeded.experiment_id}`);
    await page.click('nav.tabs >> text=Traces');
    const table = page.locator('table[aria-label="Traces"]');
    await eventually(async () => expect(await table.locator('tbody tr').count()).toBe(3));
    const rag = table.locator(`tr[data-trace-id="${seeded.rag_trace_id}"]`);
    expect(await rag.locator('td[data-col="state"]').textContent()).toBe('OK');
    expect(await rag.locator('td[data-col="spans"]').textContent()).toBe('4');
    expect(await rag.textContent()).toContain('refunds for damaged items?');
    expect(await rag.locator('td[data-col="tags"]').textContent()).toContain('team=search');
    expect(await rag.locator('td[data-col="latency"]').textContent()).toMatch(/^\d+(\.\d+)? (ms|s)$/);
    const failed = table.locator(`tr[data-trace-id="${seeded.error_trace_id}"]`);
    expect(await failed.locator('td[data-col="state"]').textContent()).toBe('ERROR');
    expect(await failed.locator('td[data-col="spans"]').textContent()).toBe('2');
    expect(await failed.textContent()).toContain('weather_agent');
    await shot(page, '20-traces', 'ui-traces');
  });

  test("the filter box passes MLflow's trace filter to the server and shows its errors", async () => {
    const table = page.locator('table[aria-label="Traces"]');
    const filter = page.locator('input[aria-label="Filter traces"]');
    await filter.fill("trace.status = 'ERROR'");
    await filter.press('Enter');
    await eventually(async () =>
      expect(await table.locator('tbody tr').evaluateAll((trs) => trs.map((t) => t.getAttribute('data-trace-id')))).toEqual([seeded.error_trace_id]),
    );
    expect(page.url()).toContain('filter=');
    await filter.fill("tags.team = 'search'");
    await filter.press('Enter');
    await eventually(async () => expect(await table.locator('tbody tr').count()).toBe(2));
    await filter.fill('tags.team = ');
    await filter.press('Enter');
    const alert = page.locator('[role="alert"]');
    await eventually(async () => expect(await alert.textContent()).toContain('INVALID_PARAMETER_VALUE'));
  });

  test('paging follows the server page tokens forward and back', async () => {
    await page.goto(`${server.url}/#/experiments/${manyExperiment}/traces`);
    const names = () => page.locator('table[aria-label="Traces"] tbody tr td:first-child a').allTextContents();
    await eventually(async () => expect(await names()).toHaveLength(25));
    const first = await names();
    expect(first[0]).toBe('call-129');
    await page.click('text=Next page →');
    await eventually(async () => expect(await names()).toEqual(['call-104', 'call-103', 'call-102', 'call-101', 'call-100']));
    expect(await page.locator('text=Next page →').count()).toBe(0);
    await page.click('text=← Previous page');
    await eventually(async () => expect(await names()).toEqual(first));
  });

  test('a trace page shows the span tree in parent/child order with inputs, outputs, attributes and assessments', async () => {
    await page.goto(`${server.url}/#/experiments/${seeded.experiment_id}/traces`);
    await page.click(`tr[data-trace-id="${seeded.rag_trace_id}"] a`);
    await eventually(async () =>
      expect(await treeRows(page)).toEqual([
        ['rag_pipeline', 0],
        ['retrieve', 1],
        ['generate', 1],
        ['render_prompt', 2],
      ]),
    );
    expect([...seeded.rag_span_names].sort()).toEqual(['generate', 'rag_pipeline', 'render_prompt', 'retrieve']);
    const detail = page.locator('.span-detail');
    expect(await detail.getAttribute('data-span')).toBe('rag_pipeline');
    expect(await detail.textContent()).toContain('refunds for damaged items?');
    expect(await detail.textContent()).toContain('answer to refunds for damaged items?');
    await page.click('table[aria-label="Spans"] >> button:text-is("render_prompt")');
    await eventually(async () => expect(await detail.getAttribute('data-span')).toBe('render_prompt'));
    const text = (await detail.textContent()) ?? '';
    expect(text).toContain('"n_docs": 1');
    expect(text).toContain('Answer refunds for damaged items? using kb-7');
    expect(await detail.locator('table[aria-label="Span attributes"]').textContent()).toContain('prompt_chars');
    const assessments = page.locator('table[aria-label="Assessments"] tr[data-assessment="helpful"]');
    expect(await assessments.textContent()).toContain('true');
    expect(await assessments.textContent()).toContain('cites the refund policy');
    expect(await assessments.textContent()).toContain('reviewer@example.com');
    expect(await page.locator('table[aria-label="Trace tags"]').textContent()).toContain('team');
    expect(await page.locator('table[aria-label="Trace metadata"]').textContent()).toContain('mlflow.trace.sizeStats');
    await shot(page, '21-trace', 'ui-trace');
  });

  test("the failed trace's spans show the exception event the client recorded", async () => {
    await page.goto(`${server.url}/#/traces/${seeded.error_trace_id}`);
    await eventually(async () =>
      expect(await treeRows(page)).toEqual([
        ['weather_agent', 0],
        ['fetch_weather', 1],
      ]),
    );
    await page.click('table[aria-label="Spans"] >> button:text-is("fetch_weather")');
    const events = page.locator('.span-detail[data-span="fetch_weather"] ul[aria-label="Span events"] li.exception');
    await eventually(async () => expect(await events.count()).toBe(1));
    const text = (await events.textContent()) ?? '';
    expect(text).toContain('exception.type');
    expect(text).toContain('ConnectionError');
    expect(text).toContain('weather service down for Oslo');
    expect(await page.locator('.span-detail').textContent()).toContain('ERROR');
  });

  test('malformed and oversized traces.json show a readable error beside the trace info', async () => {
    await page.goto(`${server.url}/#/traces/${broken.junk}`);
    const alert = page.locator('[role="alert"]');
    await eventually(async () => expect(await alert.textContent()).toContain('traces.json is not valid JSON'));
    expect(await page.locator('h1').textContent()).toBe('junk');
    await shot(page, '22-trace-junk');
    await page.goto(`${server.url}/#/traces/${broken.huge}`);
    await eventually(async () => expect(await page.locator('[role="alert"]').textContent()).toContain('larger than 16 MiB'));
    expect(await page.locator('h1').textContent()).toBe('huge');
  });

  test('hostile span data renders as text: markup stays literal, loops and orphans still show, non-spans are counted', async () => {
    await page.goto(`${server.url}/#/traces/${broken.hostile}`);
    await eventually(async () =>
      expect((await treeRows(page)).map(([n]) => n)).toEqual(['<img src=x onerror="window.__pwned=1">root', 'orphan', 'loop-b', 'loop-c']),
    );
    expect(await page.locator('table[aria-label="Spans"] img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as any).window.__pwned)).toBeUndefined();
    expect(await page.locator('.state.empty').first().textContent()).toContain('2 entries of traces.json are not spans');
  });

  test('a trace whose traces.json was never uploaded says so', async () => {
    await page.goto(`${server.url}/#/traces/tr-${(100).toString(16).padStart(32, '0')}`);
    await eventually(async () => expect(await page.locator('.state.empty').first().textContent()).toContain('No span data has been uploaded for this trace'));
    expect(await page.locator('h1').textContent()).toBe('call-100');
  });

  test('an unknown trace says so', async () => {
    await page.goto(`${server.url}/#/traces/tr-${'0'.repeat(32)}`);
    await eventually(async () => expect(await page.locator('[role="alert"]').textContent()).toContain('RESOURCE_DOES_NOT_EXIST'));
  });

  test('the Prompts page lists the prompts and a prompt page shows each version, its template and the alias', async () => {
    await page.goto(`${server.url}/#/experiments`);
    await page.click('header.top >> text=Prompts');
    const table = page.locator('table[aria-label="Prompts"]');
    await eventually(async () => expect(await table.locator('tbody tr a').allTextContents()).toEqual([seeded.prompt, seeded.chat_prompt].sort()));
    const row = table.locator(`tr[data-prompt="${seeded.prompt}"]`);
    expect(await row.textContent()).toContain('@production → v2');
    expect(await row.textContent()).toContain('Summarize {{text}} in {{n}} bullet points');
    await page.fill('input[aria-label="Search prompts"]', 'chat');
    await page.press('input[aria-label="Search prompts"]', 'Enter');
    await eventually(async () => expect(await table.locator('tbody tr a').allTextContents()).toEqual([seeded.chat_prompt]));
    await page.goto(`${server.url}/#/prompts`);
    await page.click(`text=${seeded.prompt} >> nth=0`);
    const v2 = page.locator('article[data-version="2"]');
    const v1 = page.locator('article[data-version="1"]');
    await eventually(async () => expect(await v2.locator('pre.template').textContent()).toBe('Summarize {{text}} in {{n}} bullet points for {{audience}}.'));
    expect(await v2.locator('.badge.alias').allTextContents()).toEqual(['@production']);
    expect(await v2.textContent()).toContain('team=search');
    expect(await v1.locator('pre.template').textContent()).toBe('Summarize {{text}} in one line.');
    expect(await v1.locator('.badge.alias').count()).toBe(0);
    expect(await v1.textContent()).toContain('first draft');
    expect(await page.locator('.aliases').textContent()).toContain('@production → v2');
    await shot(page, '23-prompt', 'ui-prompts');
  });

  test('a chat prompt shows its messages by role; a registered model is not shown as a prompt', async () => {
    await page.goto(`${server.url}/#/prompts/${seeded.chat_prompt}`);
    const messages = page.locator('article[data-version="1"] ol[aria-label="Chat messages"] li');
    await eventually(async () => expect(await messages.count()).toBe(2));
    expect(await messages.nth(0).textContent()).toBe('systemYou answer about {{topic}}.');
    expect(await messages.nth(1).textContent()).toBe('user{{question}}');
    await ok(api(server.url, 'POST', '/registered-models/create', { name: 'plain-model' }), 'registered-models/create');
    await page.goto(`${server.url}/#/prompts/plain-model`);
    await eventually(async () => expect(await page.locator('.state.empty').textContent()).toContain('is a registered model, not a prompt'));
  });
});

// Under `--app-name basic-auth` the pages make the same calls as the client, so the experiment's
// permission decides: READ sees the list, the spans (read through the artifact proxy) and the
// assessments; NO_PERMISSIONS gets the server's 403 on screen.
describeWithTool('web UI traces under basic auth', needs, () => {
  let server: AuthTestServer;
  let browser: TestBrowser;
  let seeded: Seeded;
  let viewer: Credentials;
  let outsider: Credentials;

  beforeAll(async () => {
    ensureUiBuilt();
    server = await startAuthServer('sqlite');
    seeded = await runPythonScript(pythonExecutable(), path.join(__dirname, 'python', 'seed_traces_prompts.py'), [server.url, 'guarded', 'guarded-prompt'], {
      MLFLOW_TRACKING_USERNAME: ADMIN.username,
      MLFLOW_TRACKING_PASSWORD: ADMIN.password,
    });
    viewer = await createUser(server, 'viewer');
    outsider = await createUser(server, 'outsider');
    const admin = as(server, ADMIN);
    for (const [username, permission] of [
      ['viewer', 'READ'],
      ['outsider', 'NO_PERMISSIONS'],
    ])
      await ok(admin('POST', '/experiments/permissions/create', { experiment_id: seeded.experiment_id, username, permission }), 'permissions/create');
  });
  afterAll(async () => {
    await ifStarted(browser)?.close();
    await ifStarted(server)?.stop();
  });

  test('a READ user sees the traces and the spans of one', async () => {
    browser = await launchBrowser({ httpCredentials: viewer });
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/#/experiments/${seeded.experiment_id}/traces`);
    await eventually(async () => expect(await page.locator('table[aria-label="Traces"] tbody tr').count()).toBe(3));
    await page.goto(`${server.url}/#/traces/${seeded.rag_trace_id}`);
    await eventually(async () => expect((await treeRows(page)).map(([n]) => n)).toEqual(['rag_pipeline', 'retrieve', 'generate', 'render_prompt']));
    expect(await page.locator('table[aria-label="Assessments"]').textContent()).toContain('helpful');
    await browser.close();
  });

  test("a user without permission gets the server's 403 on the list and on the trace", async () => {
    browser = await launchBrowser({ httpCredentials: outsider });
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/#/experiments/${seeded.experiment_id}/traces`);
    await eventually(async () => expect(await page.locator('.state.error').allTextContents()).toContainEqual(expect.stringContaining('PERMISSION_DENIED')));
    expect(await page.locator('table[aria-label="Traces"]').count()).toBe(0);
    await page.goto(`${server.url}/#/traces/${seeded.rag_trace_id}`);
    await eventually(async () => expect(await page.locator('[role="alert"]').textContent()).toContain('PERMISSION_DENIED'));
    expect(await page.locator('table[aria-label="Spans"]').count()).toBe(0);
    // The spans the page would read are refused too: the artifact proxy checks the same experiment permission.
    const rel = seeded.artifact_location.replace(/^mlflow-artifacts:\//, '');
    const status = await page.evaluate(async (u) => (await fetch(u)).status, `ajax-api/2.0/mlflow-artifacts/artifacts/${rel}/traces.json`);
    expect(status).toBe(403);
  });
});
