import * as path from 'node:path';
import type { EnvironmentConfig } from '../environments';
import { ENVIRONMENT_RECORD, recordFor, type EnvironmentRecord } from '../environments/record';
import { manifestFiles, parseManifestFile } from './load';
import { checkManifests } from './index';
import type { PolicyException } from './exceptions';
import type { PolicyMode, Violation } from './types';

/** One set of manifests checked together: a folder `mlops synth` wrote (with its environment), or the rest. */
export interface CheckedGroup {
  /** The recorded folder, relative to the working directory; undefined for manifests outside any. */
  dir?: string;
  environment?: EnvironmentConfig;
  mode: PolicyMode;
  files: string[];
  violations: Violation[];
}

export interface GroupCheckOptions {
  /** `--env`: the environment of the manifests no synth record covers. */
  environment?: EnvironmentConfig;
  /** `--mode` when given: every group; else a recorded folder's own mode, and `user` for the rest. */
  mode?: PolicyMode;
  exceptions?: PolicyException[];
}

/**
 * Splits the inputs by environment and checks each part as its own set: files under a folder holding a synth
 * record (`mlops-environment`, found at or above each file) with that environment's allowances, the others
 * together with `--env` if given. Cross-object rules so never mix two environments' objects. `--env` naming
 * another environment than a folder's record is refused rather than silently ignored.
 */
export function checkGroups(inputs: string[], opts: GroupCheckOptions = {}): CheckedGroup[] {
  const cache = new Map<string, EnvironmentRecord | undefined>();
  const byDir = new Map<string, { record?: EnvironmentRecord; files: string[] }>();
  for (const file of manifestFiles(inputs)) {
    const record = recordFor(file, cache);
    const key = record?.dir ?? '';
    const group = byDir.get(key) ?? { record, files: [] };
    group.files.push(file);
    byDir.set(key, group);
  }
  return [...byDir.values()].map(({ record, files }) => {
    const dir = record ? path.relative(process.cwd(), record.dir) || '.' : undefined;
    if (record && dir !== undefined && opts.environment && opts.environment.name !== record.environment.name) {
      throw new Error(
        `--env ${opts.environment.name}, but ${dir} was synthesized for "${record.environment.name}" (${path.join(dir, ENVIRONMENT_RECORD)}); check them separately`,
      );
    }
    const environment = record?.environment ?? opts.environment;
    const mode = opts.mode ?? record?.policyMode ?? 'user';
    const objects = files.flatMap(parseManifestFile);
    return { dir, environment, mode, files, violations: checkManifests(objects, { mode, environment }, { exceptions: opts.exceptions }) };
  });
}
