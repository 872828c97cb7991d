import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'cdk8s';
import { stringify } from 'yaml';
import type { EnvironmentConfig } from '../environments';
import type { KubeObject } from '../policies/types';
import { MlopsPlatform } from '../constructs/platform';

/** Values the Pulumi stack fills in; GitOps synth uses environment defaults (never secrets). */
export interface CloudOutputs {
  artifactBucket?: string;
  trackingRoleArn?: string;
  inferenceRoleArn?: string;
  trainingRoleArn?: string;
  databaseHost?: string;
}

export interface SynthOptions {
  secretsMode?: 'pulumi' | 'external-secrets';
  cloud?: CloudOutputs;
}

export interface SynthesizedFile {
  /** File name, `NN-<part>.k8s.yaml`, in apply order. */
  name: string;
  objects: KubeObject[];
}

/** Synthesizes one environment in memory: one file per platform part, namespaces first. Pure. */
export function synthEnvironment(env: EnvironmentConfig, opts: SynthOptions = {}): SynthesizedFile[] {
  const app = new App();
  const platform = new MlopsPlatform(app, env.name, { env, secretsMode: opts.secretsMode, cloud: opts.cloud });
  return platform.charts.map(({ part, chart }, i) => ({
    name: `${String(i).padStart(2, '0')}-${part}.k8s.yaml`,
    objects: chart.toJson() as KubeObject[],
  }));
}

/** Structural checks every object must pass before anything is written. */
export function validateObjects(files: SynthesizedFile[]): void {
  for (const f of files) {
    for (const o of f.objects) {
      if (!o.apiVersion || !o.kind || !o.metadata?.name) throw new Error(`${f.name}: object without apiVersion/kind/metadata.name`);
      if (o.kind === 'Secret' && (o.data || o.stringData)) throw new Error(`${f.name}: Secret/${o.metadata.name} carries literal data`);
    }
  }
}

/**
 * Synthesizes, validates and writes `<out>/<env>/NN-<part>.k8s.yaml` for each environment. Everything
 * is written to a temporary directory first and renamed into place, so a failure writes nothing.
 */
export function writeSynth(envs: EnvironmentConfig[], out: string, opts: SynthOptions = {}): string[] {
  const rendered = envs.map((env) => {
    const files = synthEnvironment(env, opts);
    validateObjects(files);
    return { env, files };
  });
  fs.mkdirSync(out, { recursive: true });
  const staging = fs.mkdtempSync(path.join(out, '.synth-'));
  const written: string[] = [];
  try {
    for (const { env, files } of rendered) {
      fs.mkdirSync(path.join(staging, env.name));
      for (const f of files) {
        const text = f.objects.map((o) => stringify(o)).join('---\n');
        fs.writeFileSync(path.join(staging, env.name, f.name), text);
      }
    }
    for (const { env, files } of rendered) {
      const target = path.join(out, env.name);
      fs.rmSync(target, { recursive: true, force: true });
      fs.renameSync(path.join(staging, env.name), target);
      written.push(...files.map((f) => path.join(target, f.name)));
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return written;
}
