import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { environmentSchema, type EnvironmentConfig, type EnvironmentInput } from './schema';
import { dev } from './dev';
import { staging } from './staging';
import { prod } from './prod';

export * from './schema';

/** The environments this repository ships, by name. */
export const builtInEnvironments: Readonly<Record<'dev' | 'staging' | 'prod', EnvironmentInput>> = { dev, staging, prod };

/** The built-in environment of that name (a listed name only, so `constructor` or `__proto__` are not environments). */
export function builtInEnvironment(name: string): EnvironmentInput | undefined {
  return isBuiltInEnvironmentName(name) ? builtInEnvironments[name] : undefined;
}
export type BuiltInEnvironmentName = keyof typeof builtInEnvironments;
export const ENVIRONMENT_NAMES: readonly BuiltInEnvironmentName[] = Object.freeze(['dev', 'staging', 'prod'] as const);

export function isBuiltInEnvironmentName(name: string): name is BuiltInEnvironmentName {
  return (ENVIRONMENT_NAMES as readonly string[]).includes(name);
}

/** One configuration problem: the dotted field path (`inference.models[0].alias`) and what is wrong. */
export interface ConfigProblem {
  path: string;
  message: string;
}

/** Invalid configuration: `problems` has one entry per problem; the message lists them one per line. */
export class EnvironmentValidationError extends Error {
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
  ) {
    super(`invalid environment ${source}:\n${problems.map((p) => `  ${p.path || '(root)'}: ${p.message}`).join('\n')}`);
    this.name = 'EnvironmentValidationError';
  }
}

/** Formats a zod issue path as a field path: `a.b[0].c`. */
export function formatPath(p: ReadonlyArray<PropertyKey>): string {
  return p.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  // A record key (a pipeline or step name) that fails its schema: say why, not just "Invalid key in record".
  if (issue.code === 'invalid_key' && issue.issues.length > 0) return `name ${issue.issues[0].message}`;
  if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator) return issue.message;
  return issue.message;
}

/** Validates any input against the schema; returns the config with defaults filled in, or throws with every problem. */
export function validateEnvironment(input: unknown, source = '(inline)'): EnvironmentConfig {
  const result = environmentSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => ({ path: formatPath(issue.path), message: describeIssue(issue) }));
  throw new EnvironmentValidationError(source, problems);
}

/** Loads a built-in environment by name (`dev`, `staging`, `prod`), validated. */
export function loadEnvironment(name: string, overrides?: Record<string, unknown>): EnvironmentConfig {
  const input = builtInEnvironment(name);
  if (!input) throw new Error(`unknown environment "${name}" (known: ${ENVIRONMENT_NAMES.join(', ')})`);
  return validateEnvironment(overrides ? deepMerge(input, overrides) : input, `"${name}"`);
}

/**
 * A syntax error in an environment file. The message is `file:line:col: not valid YAML: reason`, then the
 * offending line with a caret under the column (what the parser's own excerpt shows, kept when callers
 * print only a first line elsewhere).
 */
export class EnvironmentSyntaxError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly line?: number,
    readonly col?: number,
    text = '',
  ) {
    const where = line ? `${file}:${line}:${col}` : file;
    const format = path.extname(file) === '.json' ? 'JSON' : 'YAML';
    super(`${where}: not valid ${format}: ${reason}${line ? `\n${excerpt(text, line, col ?? 1)}` : ''}`);
    this.name = 'EnvironmentSyntaxError';
  }
}

/** `  12 | the line` and a caret line below it; the end of the file when the parser points past it. */
function excerpt(text: string, line: number, col: number): string {
  const lines = text.split(/\r?\n/);
  const shown = lines.at(line - 1);
  const gutter = String(line).length;
  if (line < 1 || shown === undefined || (shown.trim() === '' && line >= lines.length)) return `  ${' '.repeat(gutter)} | (end of file)`;
  return `  ${line} | ${shown}\n  ${' '.repeat(gutter)} | ${' '.repeat(Math.max(0, col - 1))}^`;
}

function syntaxError(file: string, text: string, err: unknown): EnvironmentSyntaxError {
  const e = err as Error & { linePos?: Array<{ line: number; col: number }> };
  if (e.linePos?.[0])
    return new EnvironmentSyntaxError(file, e.message.replace(/ at line \d+, column \d+:[\s\S]*$/, ''), e.linePos[0].line, e.linePos[0].col, text);
  const position = /at position (\d+)/.exec(e.message);
  if (position) {
    const before = text.slice(0, Number(position[1])).split('\n');
    const reason = e.message.replace(/ in JSON at position \d+.*$| at position \d+.*$/, '');
    return new EnvironmentSyntaxError(file, reason, before.length, before[before.length - 1].length + 1, text);
  }
  return new EnvironmentSyntaxError(file, e.message.split('\n')[0]);
}

/** Loads an environment from a YAML or JSON file (a team's own environment), validated. */
export function loadEnvironmentFile(file: string): EnvironmentConfig {
  const text = fs.readFileSync(file, 'utf8');
  let input: unknown;
  try {
    input = path.extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw syntaxError(file, text, err);
  }
  return validateEnvironment(input, file);
}

/** Resolves a CLI argument that is either a built-in environment name or a path to an environment file. */
export function resolveEnvironment(nameOrFile: string): EnvironmentConfig {
  return builtInEnvironment(nameOrFile) ? loadEnvironment(nameOrFile) : loadEnvironmentFile(nameOrFile);
}

/**
 * Merges plain objects recursively (arrays and scalars in `override` replace). Used for stack-config
 * overrides of documented fields, so an override touches only what it names.
 */
export function deepMerge<T>(base: T, override: Record<string, unknown>): T {
  const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isPlain(base)) return override as T;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    out[key] = isPlain(value) && isPlain(out[key]) ? deepMerge(out[key], value) : value;
  }
  return out as T;
}
