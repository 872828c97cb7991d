import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../helpers/cli';
import { describeWithTool, type Availability } from '../helpers/tools';
import { chromiumAvailability, eventually, launchBrowser, screenshotPath } from '../ui/browser';

// npm install of the whole tree (better-sqlite3 may compile from source) then a first start: slow by nature.
jest.setTimeout(25 * 60_000);

/** The set-up command of the README's "Set-up on a fresh machine", as printed (its trailing comment dropped). */
export function readmeSetupCommand(readme: string): string {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Set-up on a fresh machine'));
  const block = section && /```bash\n([\s\S]*?)```/.exec(section)?.[1];
  const line = block?.split('\n').find((l) => l.includes('npm start'));
  if (!line) throw new Error('README: no `npm start` line in the set-up block of "Set-up on a fresh machine"');
  return line.replace(/\s+#.*$/, '').trim();
}

/** What a fresh clone needs here: git, and an npm that can reach its registry (or has the lock's packages cached). */
function freshCloneAvailability(): Availability {
  const git = spawnSync('git', ['--version'], { encoding: 'utf8' });
  if (git.status !== 0) return { ok: false, reason: 'git is not installed' };
  const ping = spawnSync('npm', ['ping'], { encoding: 'utf8', timeout: 30_000 });
  if (ping.status !== 0)
    return { ok: false, reason: `npm cannot reach its registry (npm ping: ${(ping.stderr || String(ping.error)).trim().split('\n').pop()})` };
  const chromium = chromiumAvailability();
  return chromium.ok ? { ok: true, reason: '' } : chromium;
}

/** Collects output until `pattern` appears; rejects if the process exits first. */
function waitFor(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output so far:\n${out}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (pattern.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${pattern}; output:\n${out}`));
    });
  });
}

/**
 * The README's first command on a fresh clone of this repository's committed HEAD, as a new user runs it:
 * `npm install && npm start` in an empty directory, then the printed tracking URL in a browser.
 */
/** Whether the child has neither exited nor been killed (read fresh: exit events change it across awaits). */
const stillRunning = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

describeWithTool('README set-up on a fresh clone', freshCloneAvailability(), () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let stderr = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-fresh-clone-'));
  });
  afterAll(async () => {
    if (child?.pid && stillRunning(child)) {
      const exited = new Promise((r) => child!.once('exit', r));
      process.kill(-child.pid, 'SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (stillRunning(child)) process.kill(-child.pid, 'SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('npm install && npm start builds and serves the web UI; the experiments page answers 200 and lists the demo run', async () => {
    const command = readmeSetupCommand(fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8'));
    expect(command).toBe('npm install && npm start');
    const clone = path.join(dir, 'mlops-blueprint');
    const cloned = spawnSync('git', ['clone', '--quiet', repoRoot, clone], { encoding: 'utf8' });
    expect(cloned.stderr).toBe('');
    expect(fs.existsSync(path.join(clone, 'ui', 'tracking', 'dist'))).toBe(false);

    child = spawn('sh', ['-c', command], {
      cwd: clone,
      // Ports 0: other servers run here. prefer-offline: the lock's packages from npm's cache when it has them.
      env: { ...process.env, MLOPS_TRACKING_PORT: '0', MLOPS_INFERENCE_PORT: '0', MLFLOW_TRACKING_URI: '', npm_config_prefer_offline: 'true' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const out = await waitFor(child, /Press Ctrl-C to stop\./, 20 * 60_000);

    expect(out).toContain('building the web UI (first start: no bundle yet) ...');
    expect(out).toMatch(/built the web UI in [\d.]+ s/);
    expect(out).toMatch(/Tracking server: {2}http:\S+ {3}\(MLflow REST API and web UI; /);
    const trackingUrl = /Tracking server:\s+(http:\/\/\S+)/.exec(out)![1];
    const page = await fetch(`${trackingUrl}/`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app"></div>');

    const browser = await launchBrowser();
    try {
      const tab = await browser.context.newPage();
      const response = await tab.goto(`${trackingUrl}/#/experiments`);
      expect(response?.status()).toBe(200);
      await eventually(async () => expect(await tab.locator('h1').first().textContent()).toBe('Experiments'));
      await eventually(async () => expect(await tab.getByText('churn', { exact: true }).count()).toBeGreaterThan(0));
      await tab.screenshot({ path: screenshotPath('fresh-clone-experiments') });
    } finally {
      await browser.close();
    }
    expect(stderr).not.toMatch(/mlops:|Error/);
  });
});
