import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { validateEnvironment, EnvironmentValidationError } from './index';
import type { EnvironmentConfig } from './schema';

/**
 * The file `mlops synth` writes into each environment's output folder, recording the environment exactly as
 * it was rendered (defaults filled, images pinned), so `mlops policy check dist/` checks each folder with
 * its own allowances, a team's environment file included. No `.yaml`/`.yml`/`.json` extension on purpose:
 * kubectl (`apply -f <dir>`) and Argo CD's directory sources read only those, and this is no manifest.
 */
export const ENVIRONMENT_RECORD = 'mlops-environment';

const recordSchema = z.object({
  recordVersion: z.literal(1),
  writtenBy: z.literal('mlops synth'),
  /** The policy mode synth's own gate checked the folder in. */
  policyMode: z.enum(['gitops', 'pulumi', 'user']),
  environment: z.unknown(),
});

export interface EnvironmentRecord {
  /** The folder the record describes (the one holding the record file). */
  dir: string;
  environment: EnvironmentConfig;
  policyMode: 'gitops' | 'pulumi' | 'user';
}

/** The record's text for one rendered environment. */
export function renderEnvironmentRecord(env: EnvironmentConfig, policyMode: EnvironmentRecord['policyMode'] = 'gitops'): string {
  return `${JSON.stringify({ recordVersion: 1, writtenBy: 'mlops synth', policyMode, environment: env }, null, 2)}\n`;
}

/** Reads and validates `<dir>/mlops-environment`; undefined when the folder has none. Throws naming the file. */
export function readEnvironmentRecord(dir: string): EnvironmentRecord | undefined {
  const file = path.join(dir, ENVIRONMENT_RECORD);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new Error(`${file}: cannot read (${code ?? (err as Error).message})`);
  }
  let parsed: z.infer<typeof recordSchema>;
  try {
    parsed = recordSchema.parse(JSON.parse(text));
  } catch (err) {
    throw new Error(`${file}: not an environment record of mlops synth (${(err as Error).message.split('\n')[0]}); synthesize again`);
  }
  try {
    return { dir, environment: validateEnvironment(parsed.environment, file), policyMode: parsed.policyMode };
  } catch (err) {
    if (err instanceof EnvironmentValidationError) throw new Error(`${file}: ${err.problems.map((p) => `${p.path || '(root)'}: ${p.message}`).join('; ')}`);
    throw err;
  }
}

/** The nearest folder at or above `file`'s folder that holds a record, cached per folder in `cache`. */
export function recordFor(file: string, cache: Map<string, EnvironmentRecord | undefined>): EnvironmentRecord | undefined {
  const seen: string[] = [];
  let dir = path.dirname(path.resolve(file));
  for (;;) {
    if (cache.has(dir)) {
      const found = cache.get(dir);
      for (const d of seen) cache.set(d, found);
      return found;
    }
    seen.push(dir);
    const record = readEnvironmentRecord(dir);
    const parent = path.dirname(dir);
    if (record || parent === dir) {
      for (const d of seen) cache.set(d, record);
      return record;
    }
    dir = parent;
  }
}
