import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { repoRoot } from '../helpers/cli';
import { commandAvailable, type Availability } from '../helpers/tools';

/** Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it). MLOPS_CHROMIUM overrides the path. */
export const chromiumPath = process.env.MLOPS_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumAvailability(): Availability {
  return commandAvailable(chromiumPath, ['--version'], `Chromium (${chromiumPath})`);
}

/** Flags for a machine with no network and no GPU: nothing phones home, nothing waits on a sandbox. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-quic',
  '--no-first-run',
  '--disable-sync',
];

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A headless Chromium with a fresh profile directory, removed on close. */
/** `args`: extra Chromium flags (e.g. `--host-resolver-rules` to point a test name at 127.0.0.1). */
export async function launchBrowser(opts: { httpCredentials?: { username: string; password: string }; args?: string[] } = {}): Promise<TestBrowser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [...ARGS, ...(opts.args ?? [])],
    viewport: { width: 1280, height: 900 },
    httpCredentials: opts.httpCredentials,
  });
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Screenshots land in test-artifacts/ui/ (gitignored) for a person to look at. */
export function screenshotPath(name: string): string {
  const dir = path.join(repoRoot, 'test-artifacts', 'ui');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, `${name}.png`);
}

/** Polls until `check` stops throwing (the UI loads and re-renders asynchronously). */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
