import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ownValue } from '../core/records';

/*
 * Cross-checks of the synthesized manifests with independent linters, kube-score and kube-linter (both
 * `go install`ed, see .ci/run), run with their default settings. The platform's deliberate departures
 * are annotated on the objects in each tool's native form (constructs/deviations.ts: `kube-score/ignore`,
 * `checkov.io/skip<N>`), so anyone's run of those tools honours them; the allowlists below are for
 * findings that cannot be annotated per object, and are empty.
 */

export interface LinterFinding {
  tool: 'kube-score' | 'kube-linter';
  check: string;
  object: string;
  message: string;
  /** kube-score: the checks the object's own `kube-score/ignore` annotation names. */
  ignoredByObject?: string[];
  /** kube-score: each comment's summary (e.g. "CPU limit is not set"). */
  summaries?: string[];
}

/**
 * kube-score check ids the platform does not follow that no per-object annotation can express, with the
 * reason. Empty: every deliberate departure is a `kube-score/ignore` annotation on its object.
 */
export const KUBE_SCORE_ALLOWLIST: Readonly<Record<string, string>> = {};

/** kube-score flags: none — its defaults, as a user of the synthesized manifests would run it. */
export const KUBE_SCORE_FLAGS: readonly string[] = [];

/**
 * What each `kube-score/ignore` on the platform's objects may hide. kube-score ignores whole checks, and
 * `container-resources` also covers memory limits and requests: the audit run makes sure the only thing
 * hidden there is the CPU limit the platform leaves off on purpose.
 */
export const KUBE_SCORE_IGNORE_SCOPE: Readonly<Record<string, readonly string[]>> = { 'container-resources': ['CPU limit is not set'] };

/** kube-linter check names the platform deliberately does not follow, with the reason. */
export const KUBE_LINTER_ALLOWLIST: Readonly<Record<string, string>> = {};

export function toolPath(name: string): string {
  for (const dir of [
    ...(process.env.PATH ?? '').split(path.delimiter),
    path.join(os.homedir(), 'go', 'bin'),
    process.env.GOPATH ? path.join(process.env.GOPATH, 'bin') : '',
  ]) {
    if (!dir) continue;
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  return name;
}

function manifestFilesIn(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .map((f) => path.join(dir, f))
    .sort();
}

interface KubeScoreObject {
  type_meta: { kind: string };
  object_meta: { name: string; namespace?: string; annotations?: Record<string, string> };
  checks: Array<{ check: { id: string }; grade: number; skipped: boolean; comments?: Array<{ path?: string; summary: string; description?: string }> }>;
}

/** kube-score's non-OK, non-skipped checks (grade below 10: warning 5, critical 1) over every file in `dir`. */
export function runKubeScore(dir: string, extraFlags: readonly string[] = []): LinterFinding[] {
  const files = manifestFilesIn(dir);
  if (files.length === 0) return [];
  const r = spawnSync(toolPath('kube-score'), ['score', '--output-format', 'json', ...KUBE_SCORE_FLAGS, ...extraFlags, ...files], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  let out: KubeScoreObject[];
  try {
    out = JSON.parse(r.stdout) as KubeScoreObject[];
  } catch {
    throw new Error(`kube-score failed (exit ${r.status}): ${r.stderr.trim().split('\n')[0]}`);
  }
  return out.flatMap((o) =>
    o.checks
      .filter((c) => !c.skipped && c.grade < 10)
      .map((c) => ({
        tool: 'kube-score' as const,
        check: c.check.id,
        object: `${o.type_meta.kind}/${o.object_meta.namespace ? `${o.object_meta.namespace}/` : ''}${o.object_meta.name}`,
        message: (c.comments ?? []).map((m) => `${m.path ? `(${m.path}) ` : ''}${m.summary}`).join('; '),
        ignoredByObject: (o.object_meta.annotations?.['kube-score/ignore'] ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        summaries: (c.comments ?? []).map((m) => m.summary),
      })),
  );
}

/**
 * kube-score again with the objects' ignore annotations switched off: every finding must be one its
 * object's `kube-score/ignore` names, and within KUBE_SCORE_IGNORE_SCOPE's checks only the expected
 * comments. Returns what the annotations hide beyond that (must be empty).
 */
export function auditKubeScoreIgnores(dir: string): LinterFinding[] {
  return runKubeScore(dir, ['--disable-ignore-checks-annotations']).filter((f) => {
    if (!f.ignoredByObject?.includes(f.check)) return true;
    const scope = ownValue(KUBE_SCORE_IGNORE_SCOPE, f.check);
    return scope !== undefined && (f.summaries ?? []).some((s) => !scope.includes(s));
  });
}

/** kube-linter's default checks over `dir`. */
export function runKubeLinter(dir: string): LinterFinding[] {
  const r = spawnSync(toolPath('kube-linter'), ['lint', '--format', 'json', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  let out: {
    Reports?: Array<{
      Check: string;
      Object: { K8sObject: { Name: string; Namespace: string; GroupVersionKind: { Kind: string } } };
      Diagnostic: { Message: string };
    }> | null;
  };
  try {
    out = JSON.parse(r.stdout) as typeof out;
  } catch {
    throw new Error(`kube-linter failed (exit ${r.status}): ${r.stderr.trim().split('\n')[0]}`);
  }
  return (out.Reports ?? []).map((rep) => {
    const o = rep.Object.K8sObject;
    return {
      tool: 'kube-linter' as const,
      check: rep.Check,
      object: `${o.GroupVersionKind.Kind}/${o.Namespace ? `${o.Namespace}/` : ''}${o.Name}`,
      message: rep.Diagnostic.Message,
    };
  });
}

/** Findings not covered by the allowlists: what must be zero. */
export function unexplained(findings: LinterFinding[]): LinterFinding[] {
  return findings.filter((f) => !(f.tool === 'kube-score' ? KUBE_SCORE_ALLOWLIST : KUBE_LINTER_ALLOWLIST)[f.check]);
}
