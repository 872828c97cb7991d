import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/*
 * Cross-checks of the synthesized manifests with two independent linters, kube-score and kube-linter
 * (both `go install`ed, see .ci/run). Their findings are compared with an allowlist whose every
 * entry says why the platform deliberately differs from the linter's default.
 */

export interface LinterFinding {
  tool: 'kube-score' | 'kube-linter';
  check: string;
  object: string;
  message: string;
}

/** kube-score check ids the platform deliberately does not follow, with the reason (README "Policies"). */
export const KUBE_SCORE_ALLOWLIST: Readonly<Record<string, string>> = {
  'container-image-pull-policy':
    'Images are pinned by version tag or digest (ECR tags are immutable), so IfNotPresent pulls the same bytes; Always adds a registry round-trip to every pod start and makes restarts fail during a registry outage.',
  'deployment-has-host-podantiaffinity':
    'Pods spread with topologySpreadConstraints over kubernetes.io/hostname (kube-score checks those too); hard anti-affinity would stop an HPA from scaling past the node count.',
  'statefulset-has-host-podantiaffinity': 'Same as for Deployments: topologySpreadConstraints spread the replicas.',
};

/** kube-score flags: CPU limits are left off on purpose (CFS throttling hurts serving latency; requests reserve CPU). */
export const KUBE_SCORE_FLAGS = ['--ignore-container-cpu-limit'];

/** kube-linter check names the platform deliberately does not follow, with the reason. */
export const KUBE_LINTER_ALLOWLIST: Readonly<Record<string, string>> = {};

export function toolPath(name: string): string {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), path.join(os.homedir(), 'go', 'bin'), process.env.GOPATH ? path.join(process.env.GOPATH, 'bin') : '']) {
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
  object_meta: { name: string; namespace?: string };
  checks: Array<{ check: { id: string }; grade: number; skipped: boolean; comments?: Array<{ path?: string; summary: string; description?: string }> }>;
}

/** kube-score's non-OK, non-skipped checks (grade below 10: warning 5, critical 1) over every file in `dir`. */
export function runKubeScore(dir: string): LinterFinding[] {
  const files = manifestFilesIn(dir);
  if (files.length === 0) return [];
  const r = spawnSync(toolPath('kube-score'), ['score', '--output-format', 'json', ...KUBE_SCORE_FLAGS, ...files], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  let out: KubeScoreObject[];
  try {
    out = JSON.parse(r.stdout);
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
      })),
  );
}

/** kube-linter's default checks over `dir`. */
export function runKubeLinter(dir: string): LinterFinding[] {
  const r = spawnSync(toolPath('kube-linter'), ['lint', '--format', 'json', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  let out: { Reports?: Array<{ Check: string; Object: { K8sObject: { Name: string; Namespace: string; GroupVersionKind: { Kind: string } } }; Diagnostic: { Message: string } }> | null };
  try {
    out = JSON.parse(r.stdout);
  } catch {
    throw new Error(`kube-linter failed (exit ${r.status}): ${r.stderr.trim().split('\n')[0]}`);
  }
  return (out.Reports ?? []).map((rep) => {
    const o = rep.Object.K8sObject;
    return { tool: 'kube-linter' as const, check: rep.Check, object: `${o.GroupVersionKind.Kind}/${o.Namespace ? `${o.Namespace}/` : ''}${o.Name}`, message: rep.Diagnostic.Message };
  });
}

/** Findings not covered by the allowlists: what must be zero. */
export function unexplained(findings: LinterFinding[]): LinterFinding[] {
  return findings.filter((f) => !(f.tool === 'kube-score' ? KUBE_SCORE_ALLOWLIST : KUBE_LINTER_ALLOWLIST)[f.check]);
}
