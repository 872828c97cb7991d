import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/*
 * checkov (PyPI `checkov`, installed into .venv-checkov by .ci/run) over synthesized manifests, with its
 * default Kubernetes checks. The platform's deliberate departures carry checkov's own per-object skip
 * annotations (`checkov.io/skip<N>: CKV_K8S_<n>=<reason>`), which checkov reports as skipped with that
 * reason; what is left failing is a finding.
 */

export interface CheckovResult {
  /** `CKV_K8S_<n>  Kind.namespace.name  file: check name`. */
  failed: Array<{ check: string; name: string; resource: string; file: string }>;
  skipped: Array<{ check: string; resource: string; reason: string }>;
  passed: number;
}

/** checkov from the project's venv, else from PATH. */
export function checkovPath(root = path.resolve(__dirname, '..')): string {
  const venv = path.join(root, '.venv-checkov', 'bin', 'checkov');
  return fs.existsSync(venv) ? venv : 'checkov';
}

interface CheckovReport {
  check_type?: string;
  results?: {
    passed_checks?: unknown[];
    failed_checks?: Array<{ check_id: string; check_name: string; resource: string; file_path: string }>;
    skipped_checks?: Array<{ check_id: string; resource: string; check_result?: { suppress_comment?: string } }>;
  };
}

/** Runs checkov's Kubernetes framework over `dir` (offline: nothing downloaded). */
export function runCheckov(dir: string, bin = checkovPath()): CheckovResult {
  const r = spawnSync(bin, ['--directory', dir, '--framework', 'kubernetes', '--output', 'json', '--skip-download'], {
    encoding: 'utf8',
    // The JSON report lists every passed check with its resource: tens of MB for a few environments.
    maxBuffer: 1024 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  let parsed: CheckovReport | CheckovReport[];
  try {
    parsed = JSON.parse(r.stdout) as CheckovReport | CheckovReport[];
  } catch {
    throw new Error(`checkov failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  }
  const reports = (Array.isArray(parsed) ? parsed : [parsed]).filter((p) => !p.check_type || p.check_type === 'kubernetes');
  return {
    failed: reports.flatMap((p) =>
      (p.results?.failed_checks ?? []).map((f) => ({ check: f.check_id, name: f.check_name, resource: f.resource, file: f.file_path })),
    ),
    skipped: reports.flatMap((p) =>
      (p.results?.skipped_checks ?? []).map((s) => ({ check: s.check_id, resource: s.resource, reason: s.check_result?.suppress_comment ?? '' })),
    ),
    passed: reports.reduce((n, p) => n + (p.results?.passed_checks?.length ?? 0), 0),
  };
}
