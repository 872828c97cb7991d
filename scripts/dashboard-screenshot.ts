/*
 * Renders the inference and tracking dashboards from real data for the README (docs/dashboard-*.png):
 * starts the local platform (tracking server + inference server with drift monitoring), has the Prometheus
 * server built by `bash test/cluster/build/build.sh prometheus` scrape both every 2 s with the platform's
 * recording rules loaded, drives a short load (normal, then drifted inputs, some bad requests), then opens
 * a small page in headless Chromium that runs each panel's query against Prometheus's HTTP API
 * (query_range) and draws it. Grafana itself cannot be installed here; the page draws the same panel
 * definitions (constructs/monitoring/dashboards.ts) Grafana gets.
 *
 *   npx tsx scripts/dashboard-screenshot.ts [--seconds 150]
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { stringify } from 'yaml';
import { loadEnvironment } from '../environments';
import { inferenceDashboard, trackingDashboard } from '../constructs/monitoring/dashboards';
import { dashboardJson, type DashboardJson } from '../constructs/monitoring/grafana';
import { INFERENCE_RECORDS, TRACKING_RECORDS } from '../constructs/monitoring/rules';
import { startLocalPlatform } from '../runtime/local/platform';
import { FEATURES, featureMatrix, generateChurnData } from '../runtime/training';

const REPO = path.resolve(__dirname, '..');
const PROMETHEUS = path.join(
  process.env.MLOPS_CLUSTER_CACHE ?? path.join(os.homedir(), '.cache', 'mlops-blueprint'),
  'prometheus-v0.316.0',
  'bin',
  'prometheus',
);
const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] || 150);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hostPort(url: string): string {
  return new URL(url).host;
}

async function startPrometheus(dir: string, targets: { inference: string; tracking: string }, port: number) {
  const env = loadEnvironment('dev');
  fs.writeFileSync(path.join(dir, 'rules.yaml'), stringify({ groups: [INFERENCE_RECORDS, TRACKING_RECORDS] }));
  // The labels Prometheus would get from the ServiceMonitors in a cluster: namespace and service.
  const config = {
    global: { scrape_interval: '2s', evaluation_interval: '2s' },
    rule_files: ['rules.yaml'],
    scrape_configs: [
      {
        job_name: 'inference',
        static_configs: [
          { targets: [targets.inference], labels: { namespace: env.namespaces.serving, service: 'churn-predictor', pod: 'churn-predictor-local' } },
        ],
      },
      {
        job_name: 'tracking',
        static_configs: [{ targets: [targets.tracking], labels: { namespace: env.namespaces.platform, service: 'tracking', pod: 'tracking-local' } }],
      },
    ],
  };
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), stringify(config));
  const child = spawn(PROMETHEUS, ['--config.file=prometheus.yml', `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.on('data', () => undefined);
  for (let i = 0; i < 60; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/-/ready`)).ok) return child;
    } catch {
      /* not up yet */
    }
    await sleep(500);
  }
  throw new Error('prometheus did not become ready');
}

/** Normal traffic, then inputs whose tenure and charges drifted, a few malformed requests, tracking calls. */
async function load(inferenceUrl: string, trackingUrl: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  let i = 0;
  const post = (url: string, body: unknown) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.arrayBuffer());
  while (Date.now() < end) {
    const drifted = Date.now() > end - ms / 2;
    const rows = featureMatrix(generateChurnData({ rows: 1 + (i % 16), seed: i })).map((r) => (drifted ? [r[0], r[1] * 2.5 + 12, r[2] * 1.6, r[3] * 3] : r));
    await Promise.all([
      post(`${inferenceUrl}/invocations`, { dataframe_split: { columns: [...FEATURES], data: rows } }),
      post(`${inferenceUrl}/invocations`, { dataframe_split: { columns: [...FEATURES], data: rows.slice(0, 1) } }),
    ]);
    if (i % 25 === 0) await post(`${inferenceUrl}/invocations`, { dataframe_split: { columns: ['age'], data: [[1]] } });
    if (i % 10 === 0) {
      await post(`${trackingUrl}/api/2.0/mlflow/experiments/create`, { name: `load-${i}` });
      await fetch(`${trackingUrl}/api/2.0/mlflow/experiments/search?max_results=10`).then((r) => r.arrayBuffer());
      await fetch(`${trackingUrl}/api/2.0/mlflow/runs/get?run_id=missing`).then((r) => r.arrayBuffer());
    }
    i++;
    await sleep(40);
  }
}

/** The page: each panel's queries run against /api/v1/query_range (proxied to Prometheus) and drawn as SVG lines. */
function page(d: DashboardJson): string {
  const script = `
const dash = ${JSON.stringify(d)};
const colors = ['#3274d9','#e0752d','#56a64b','#c4162a','#8f3bb8','#f2cc0c','#1f9e89','#b877d9'];
async function run(expr, start, end) {
  const q = new URLSearchParams({ query: expr.replaceAll('$model', '.*'), start, end, step: '2' });
  const r = await (await fetch('/api/v1/query_range?' + q)).json();
  return r.data.result;
}
function legend(fmt, metric) { return fmt ? fmt.replace(/{{\\s*(\\w+)\\s*}}/g, (_, k) => metric[k] ?? '') : JSON.stringify(metric); }
function fmt(v, unit) {
  if (unit === 's') return v < 1 ? (v * 1000).toPrecision(3) + ' ms' : v.toPrecision(3) + ' s';
  if (unit === 'reqps') return v.toPrecision(3) + ' req/s';
  if (unit === 'bytes') return (v / 1048576).toPrecision(3) + ' MiB';
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
}
async function draw() {
  const end = Date.now() / 1000, start = end - ${seconds + 30};
  const root = document.getElementById('grid');
  for (const p of dash.panels) {
    const el = document.createElement('div');
    el.className = 'panel';
    el.style.gridColumn = (p.gridPos.x + 1) + ' / span ' + p.gridPos.w;
    el.style.gridRow = (p.gridPos.y / 8 + 1);
    const series = (await Promise.all(p.targets.map(async (t) => (await run(t.expr, start, end)).map((s) => ({ name: legend(t.legendFormat, s.metric), points: s.values.map(([x, y]) => [x, Number(y)]).filter(([, y]) => Number.isFinite(y)) }))))).flat();
    const W = 560 * p.gridPos.w / 12, H = 190;
    const ys = series.flatMap((s) => s.points.map(([, y]) => y));
    const ymax = (Math.max(0, ...ys) || 1) * 1.1, ymin = Math.min(0, ...ys);
    const sx = (x) => 48 + (x - start) / (end - start) * (W - 58), sy = (y) => 10 + (1 - (y - ymin) / (ymax - ymin)) * (H - 30);
    const unit = p.fieldConfig.defaults.unit;
    let svg = '<svg width="' + W + '" height="' + H + '">';
    for (let k = 0; k <= 4; k++) { const y = ymin + (ymax - ymin) * k / 4; svg += '<line x1="48" x2="' + (W - 10) + '" y1="' + sy(y) + '" y2="' + sy(y) + '" stroke="#2c3235"/><text x="44" y="' + (sy(y) + 4) + '" text-anchor="end">' + fmt(y, unit) + '</text>'; }
    series.forEach((s, k) => { svg += '<polyline fill="none" stroke-width="1.6" stroke="' + colors[k % colors.length] + '" points="' + s.points.map(([x, y]) => sx(x).toFixed(1) + ',' + sy(y).toFixed(1)).join(' ') + '"/>'; });
    svg += '</svg>';
    const keys = series.slice(0, 8).map((s, k) => '<span><i style="background:' + colors[k % colors.length] + '"></i>' + s.name + '</span>').join('');
    el.innerHTML = '<h3>' + p.title + '</h3>' + (series.length ? svg : '<div class="empty">No data</div>') + '<div class="keys">' + keys + '</div>';
    root.appendChild(el);
  }
  document.body.dataset.done = '1';
}
draw();`;
  return `<!doctype html><meta charset="utf-8"><title>${d.title}</title><style>
body{background:#111217;color:#ccccdc;font:12px sans-serif;margin:12px;width:1160px}
h1{font-size:16px;margin:0 0 8px} #grid{display:grid;grid-template-columns:repeat(24,1fr);gap:8px}
.panel{background:#181b1f;border:1px solid #2c3235;border-radius:3px;padding:6px} h3{font-size:13px;margin:0 0 4px}
svg text{fill:#8e8e8e;font-size:10px} .keys span{margin-right:10px;white-space:nowrap} .keys i{display:inline-block;width:10px;height:3px;margin-right:4px;vertical-align:middle}
.empty{height:190px;display:flex;align-items:center;justify-content:center;color:#6e6e6e}
</style><h1>${d.title} — drawn from Prometheus 3.16.0 query_range over our servers (not Grafana)</h1><div id="grid"></div><script>${script}</script>`;
}

async function serve(pages: Record<string, string>, prometheusPort: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/api/')) {
      http.get(`http://127.0.0.1:${prometheusPort}${url}`, (up) => {
        res.writeHead(up.statusCode ?? 502, { 'content-type': 'application/json' });
        up.pipe(res);
      });
      return;
    }
    const key = url.slice(1);
    const body = Object.hasOwn(pages, key) ? pages[key] : undefined;
    res.writeHead(body ? 200 : 404, { 'content-type': 'text/html' }).end(body ?? 'not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

async function main(): Promise<void> {
  if (!fs.existsSync(PROMETHEUS)) throw new Error(`${PROMETHEUS} missing: run \`bash test/cluster/build/build.sh prometheus\``);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-dashboard-'));
  const local = await startLocalPlatform({ dataDir: path.join(dir, 'local'), trackingPort: 0, inferencePort: 0, buildWebUi: false });
  const promPort = 19000 + Math.floor(Math.random() * 1000);
  const prometheus = await startPrometheus(dir, { inference: hostPort(local.inferenceUrl), tracking: hostPort(local.trackingUrl) }, promPort);
  try {
    await load(local.inferenceUrl, local.trackingUrl, seconds * 1000);
    await sleep(5000);
    const env = loadEnvironment('dev');
    const dashboards = { inference: dashboardJson(inferenceDashboard(env)), tracking: dashboardJson(trackingDashboard(env)) };
    const server = await serve(Object.fromEntries(Object.entries(dashboards).map(([k, d]) => [k, page(d)])), promPort);
    const browser = await chromium.launch({ executablePath: process.env.MLOPS_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
    const { port } = server.address() as { port: number };
    for (const name of Object.keys(dashboards)) {
      const tab = await browser.newPage({ viewport: { width: 1184, height: 800 } });
      await tab.goto(`http://127.0.0.1:${port}/${name}`);
      await tab.waitForSelector('body[data-done="1"]', { timeout: 60_000 });
      const out = path.join(REPO, 'docs', `dashboard-${name}.png`);
      await tab.screenshot({ path: out, fullPage: true });
      process.stdout.write(`${out}\n`);
    }
    await browser.close();
    server.close();
  } finally {
    prometheus.kill('SIGTERM');
    await local.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
