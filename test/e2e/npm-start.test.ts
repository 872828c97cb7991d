import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../helpers/cli';

jest.setTimeout(180_000);

/** Collects a child's stdout until a line matching `pattern` appears (or it exits). */
function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output so far:\n${out}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (pattern.test(out)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(out);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${pattern}; output:\n${out}`));
    });
  });
}

const curlAvailable = spawnSync('curl', ['--version']).status === 0;
const shellIsDash = (() => {
  try {
    return realpathSync('/bin/sh').endsWith('dash');
  } catch {
    return false;
  }
})();

/** The README's main command as a user runs it: `npm start`, the printed example request, then Ctrl-C. */
describe('npm start', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let stderr = '';

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mlops-npm-start-'));
  });
  afterAll(() => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('starts the platform, prints URLs and a curl example that works, and stops cleanly on Ctrl-C', async () => {
    // Own process group, as a terminal's foreground job: Ctrl-C sends SIGINT to npm and node alike.
    child = spawn('npm', ['start'], {
      cwd: repoRoot,
      env: { ...process.env, MLOPS_LOCAL_DIR: dir, MLOPS_TRACKING_PORT: '0', MLOPS_INFERENCE_PORT: '0', MLFLOW_TRACKING_URI: '' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const out = await waitForOutput(child, /Press Ctrl-C to stop\./, 150_000);

    const trackingUrl = /Tracking server:\s+(http:\/\/\S+)/.exec(out)?.[1];
    const inferenceUrl = /Inference server:\s+(http:\/\/\S+)/.exec(out)?.[1];
    expect(trackingUrl).toBeDefined();
    expect(inferenceUrl).toBeDefined();
    expect(out).toContain('registered churn-predictor version 1');
    expect(out).toContain('set alias champion → churn-predictor version 1');
    expect((await fetch(`${trackingUrl}/health`)).status).toBe(200);
    // The banner names the web UI only when the server serves it (npm start builds a missing or stale bundle first).
    expect(out).toMatch(/Tracking server: {2}http:\S+ {3}\(MLflow REST API and web UI; /);
    const page = await fetch(`${trackingUrl}/`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app"></div>');
    const alias = (await (await fetch(`${trackingUrl}/api/2.0/mlflow/registered-models/alias?name=churn-predictor&alias=champion`)).json()) as {
      model_version: { version: string };
    };
    expect(alias.model_version.version).toBe('1');
    expect((await fetch(`${inferenceUrl}/v2/health/ready`)).status).toBe(200);

    const curlLine = out
      .split('\n')
      .find((l) => l.trim().startsWith('curl '))!
      .trim();
    const m = /^curl -s -X POST (\S+) -H 'Content-Type: application\/json' -d '(.+)'$/.exec(curlLine);
    expect(m).not.toBeNull();
    const [, url, body] = m!;
    expect(url).toBe(`${inferenceUrl}/invocations`);
    let answer: { predictions: { probabilities: number[] }[] };
    if (curlAvailable) {
      // The printed line itself, through a shell, as a user pastes it.
      const r = spawnSync('sh', ['-c', curlLine], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status).toBe(0);
      answer = JSON.parse(r.stdout);
    } else {
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      expect(res.status).toBe(200);
      answer = (await res.json()) as typeof answer;
    }
    const rows = (JSON.parse(body) as { dataframe_split: { data: number[][] } }).dataframe_split.data;
    expect(answer.predictions).toHaveLength(rows.length);
    for (const p of answer.predictions) {
      expect(p.probabilities).toHaveLength(2);
      expect(p.probabilities[0] + p.probabilities[1]).toBeCloseTo(1, 5);
    }

    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child!.once('exit', (code, signal) => resolve({ code, signal })),
    );
    let tail = '';
    child.stdout!.on('data', (d: Buffer) => (tail += d.toString()));
    process.kill(-child.pid!, 'SIGINT');
    const status = await exited;
    // `mlops local` drains both servers and exits 0 (it prints "stopped" right before). npm's own status
    // is its script shell's: bash (macOS' sh) waits for the clean exit and npm exits 0; dash (Debian's sh)
    // re-raises the SIGINT it saw, so npm ends by SIGINT as every npm script does on Ctrl-C there.
    expect(tail).toMatch(/SIGINT: stopping the inference and tracking servers\nstopped\n/);
    if (shellIsDash) expect(status).toEqual({ code: null, signal: 'SIGINT' });
    else expect(status).toEqual({ code: 0, signal: null });
    // Both servers are gone.
    await expect(fetch(`${trackingUrl}/health`)).rejects.toThrow();
    await expect(fetch(`${inferenceUrl}/ping`)).rejects.toThrow();
    expect(stderr).not.toMatch(/Error|mlops:/);
  });
});
