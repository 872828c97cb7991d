import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { MLFLOW_CLIENT_ENV, runPythonScript } from '../tracking/helpers';

/** Runs a script from test/registry/python with an MLflow client interpreter (see runPythonScript). */
export function runRegistryScript(python: string, script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<any> {
  return runPythonScript(python, path.join(__dirname, 'python', script), args, env, 240_000);
}

/**
 * Starts one client process per entry (interpreter and arguments), waits until each has imported MLflow and printed
 * "ready", then releases them all at once (a line on stdin) so their requests really overlap.
 * Resolves with each process's last stdout line parsed as JSON, in the order given.
 */
export async function runClientsAtOnce(script: string, clients: { python: string; args: string[] }[]): Promise<any[]> {
  const procs = clients.map(({ python, args }) => {
    const child = spawn(python, [path.join(__dirname, 'python', script), ...args], {
      env: { ...process.env, ...MLFLOW_CLIENT_ENV },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (/^ready$/m.test(stdout)) resolve();
      });
      child.on('exit', (code) => reject(new Error(`${script} ${args.join(' ')} exited (${code}) before it was ready:\n${stderr}`)));
    });
    const done = new Promise<any>((resolve, reject) => {
      child.on('exit', (code) => {
        if (code !== 0) {
          reject(new Error(`${script} ${args.join(' ')} failed (exit ${code}):\n${stderr}\n${stdout}`));
          return;
        }
        const lines = stdout.trim().split('\n');
        try {
          resolve(JSON.parse(lines[lines.length - 1]));
        } catch {
          reject(new Error(`${script} printed no JSON result:\n${stdout}\n${stderr}`));
        }
      });
    });
    // `ready` may reject after `done` settles; that rejection is reported through `done`.
    ready.catch(() => undefined);
    return { child, ready, done };
  });
  const timer = setTimeout(() => procs.forEach((p) => p.child.kill()), 240_000);
  try {
    await Promise.all(procs.map((p) => Promise.race([p.ready, p.done])));
    for (const p of procs) p.child.stdin.end('go\n');
    return await Promise.all(procs.map((p) => p.done));
  } finally {
    clearTimeout(timer);
  }
}

/** Asserts what the official client read back after the whole registry workflow (registry_workflow.py). */
export function expectWorkflow(out: any, major: 2 | 3): void {
  expect(out.mlflow_version.startsWith(`${major}.`)).toBe(true);
  expect(out.versions).toEqual([1, 2]);
  expect(out.version_runs).toEqual(out.run_ids);
  expect(out.statuses).toEqual(['READY']);
  if (major === 3) {
    // MLflow 3 logs a LoggedModel and registers `models:/m-<id>`, resolved to the logged model's artifacts.
    out.sources.forEach((s: string) => expect(s).toMatch(/^models:\/m-[0-9a-f]{32}$/));
    // The run lists its LoggedModel as an output (runs/outputs).
    expect(out.run_logged).toEqual([out.sources[0].slice('models:/'.length)]);
    expect(out.download_uri).toMatch(/^mlflow-artifacts:\/\d+\/models\/m-[0-9a-f]{32}\/artifacts$/);
    expect(out.download_uri).toContain(out.sources[1].slice('models:/'.length));
  } else {
    out.sources.forEach((s: string, i: number) => expect(s).toMatch(new RegExp(`/${out.run_ids[i]}/artifacts/model$`)));
    expect(out.download_uri).toBe(out.sources[1]);
    // runs/log-model recorded the model in the run's mlflow.log-model.history tag.
    expect(out.run_logged).toEqual([['model', true, out.run_ids[0]]]);
  }
  expect(out.promoted_stage).toBe('Production');
  expect(out.stages_after).toEqual({ '1': 'Archived', '2': 'Production' });
  expect(out.champion_version).toBe('2');
  expect(out.champion_aliases).toEqual(['champion']);
  expect(out.description).toBe('Promoted after offline evaluation');
  expect(out.tags).toEqual({ validation_status: 'approved' });
  expect(out.latest_production).toEqual(['2']);
  expect(out.latest_all).toEqual([
    ['Archived', '1'],
    ['Production', '2'],
  ]);
  expect(out.registered_aliases).toEqual({ challenger: '1', champion: '2' });
  // The model loaded by alias is the champion: its predictions equal the in-memory model's.
  expect(out.predicted).toEqual(out.expected);
  expect(new Set(out.predicted).size).toBe(2);
  expect(out.predicted_v1_ok).toBe(true);
  expect(out.missing_alias_error).toBe('INVALID_PARAMETER_VALUE');
  expect(out.reserved_alias_error).toBe('INVALID_PARAMETER_VALUE');
}

/** The audit trail the workflow leaves: every creation, transition (incl. the archived one) and alias change, read as `user`. */
export async function expectAudit(url: string, name: string, runIds: string[], user: { username: string; password: string } | null = null): Promise<void> {
  const headers: Record<string, string> = user ? { authorization: `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}` } : {};
  const res = await fetch(`${url}/api/2.0/mlflow/model-versions/audit?${new URLSearchParams({ name }).toString()}`, { headers });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { entries: any[] };
  const summary = body.entries.map((e: any) => [e.action, e.version, e.from_stage, e.to_stage, e.alias]);
  expect(summary).toEqual([
    ['create_registered_model', null, null, null, null],
    ['create_model_version', '1', null, 'None', null],
    ['create_model_version', '2', null, 'None', null],
    ['transition_stage', '1', 'None', 'Production', null],
    ['transition_stage', '1', 'Production', 'Archived', null],
    ['transition_stage', '2', 'None', 'Production', null],
    ['set_alias', '2', null, null, 'champion'],
    ['set_alias', '1', null, null, 'challenger'],
    ['delete_alias', '1', null, null, 'challenger'],
  ]);
  expect(body.entries[1].run_id).toBe(runIds[0]);
  expect(body.entries[2].run_id).toBe(runIds[1]);
  for (const e of body.entries) {
    // Who made the change: the authenticated user, or null when the server runs without auth.
    expect(e.user_id).toBe(user ? user.username : null);
    expect(typeof e.timestamp).toBe('number');
  }
}
