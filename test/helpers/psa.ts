import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Availability } from './tools';

/*
 * The Pod Security Standards as kube-apiserver's PodSecurity admission evaluates them: test/psa is a tiny Go
 * program over the upstream library (k8s.io/pod-security-admission v0.34.4, the control plane's version),
 * built here with the Go toolchain (.ci/run downloads its modules). Pods go in as JSON, verdicts come out.
 */

const SOURCE = path.resolve(__dirname, '..', 'psa');
export type PsaLevel = 'privileged' | 'baseline' | 'restricted';
export const PSA_LEVELS: readonly PsaLevel[] = ['restricted', 'baseline', 'privileged'];

export interface PsaRequest {
  level: PsaLevel;
  version: string;
  pod: { metadata: Record<string, unknown>; spec: Record<string, unknown> };
}
export interface PsaVerdict {
  allowed: boolean;
  forbidden: string[];
}

function goBinary(): string {
  for (const candidate of ['go', '/usr/local/go/bin/go', path.join(os.homedir(), 'go', 'bin', 'go')]) {
    if (spawnSync(candidate, ['version'], { encoding: 'utf8' }).status === 0) return candidate;
  }
  return 'go';
}

let built: { bin?: string; availability: Availability } | undefined;

/** Builds test/psa once per source version (Go's build cache makes a rebuild cheap); the availability says why not. */
export function psaChecker(): { bin?: string; availability: Availability } {
  if (built) return built;
  const hash = createHash('sha256');
  for (const f of ['main.go', 'go.mod', 'go.sum']) hash.update(fs.readFileSync(path.join(SOURCE, f)));
  const bin = path.join(os.tmpdir(), `mlops-psa-check-${hash.digest('hex').slice(0, 12)}`);
  if (fs.existsSync(bin)) return (built = { bin, availability: { ok: true, reason: '' } });
  const go = goBinary();
  const r = spawnSync(go, ['build', '-o', `${bin}.tmp`, '.'], {
    cwd: SOURCE,
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, GOFLAGS: '-mod=readonly -buildvcs=false' },
  });
  if (r.error || r.status !== 0) {
    return (built = {
      availability: {
        ok: false,
        reason: `cannot build test/psa (the upstream pod-security-admission checker) with ${go}: ${(r.error?.message ?? r.stderr).trim().split('\n').pop()}`,
      },
    });
  }
  fs.renameSync(`${bin}.tmp`, bin);
  return (built = { bin, availability: { ok: true, reason: '' } });
}

export function evaluatePods(bin: string, requests: PsaRequest[]): PsaVerdict[] {
  const r = spawnSync(bin, [], { input: JSON.stringify(requests), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`psa-check failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as PsaVerdict[];
}
