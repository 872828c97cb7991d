import type { Violation } from './types';

export type OutputFormat = 'text' | 'json';

/**
 * Text: one line per violation (`error  rule-id  Kind/ns/name  field: message`) plus its remediation, then
 * a summary. JSON: `{ violations, summary }` for CI.
 */
export function formatViolations(violations: readonly Violation[], format: OutputFormat = 'text'): string {
  const summary = {
    errors: violations.filter((v) => v.severity === 'error' && !v.exception).length,
    warnings: violations.filter((v) => v.severity === 'warning' && !v.exception).length,
    excepted: violations.filter((v) => v.exception).length,
  };
  if (format === 'json') return `${JSON.stringify({ violations, summary }, null, 2)}\n`;
  const lines = violations.map((v) => {
    const level = v.exception ? 'excepted' : v.severity;
    const head = `${level.padEnd(8)} ${v.ruleId}  ${v.object}${v.field ? `  ${v.field}` : ''}: ${v.message}`;
    return v.exception ? `${head}\n         reason: ${v.exception.reason}` : `${head}\n         fix: ${v.remediation}`;
  });
  lines.push(`${summary.errors} error(s), ${summary.warnings} warning(s), ${summary.excepted} excepted`);
  return `${lines.join('\n')}\n`;
}

/** Counts of one check: errors and warnings without an exception, and the excepted. */
export function summarize(violations: readonly Violation[]): { errors: number; warnings: number; excepted: number } {
  return {
    errors: violations.filter((v) => v.severity === 'error' && !v.exception).length,
    warnings: violations.filter((v) => v.severity === 'warning' && !v.exception).length,
    excepted: violations.filter((v) => v.exception).length,
  };
}

/** One checked set as `formatGroups` takes it (policies/groups.ts CheckedGroup). */
export interface FormattedGroup {
  dir?: string;
  environment?: { name: string };
  mode: string;
  violations: readonly Violation[];
}

function groupTitle(g: FormattedGroup): string {
  const where = g.dir ?? 'manifests outside any synthesized folder';
  return `${where} (${g.environment ? `environment ${g.environment.name}` : 'no environment'}, mode ${g.mode})`;
}

/**
 * Several sets: each under its own heading with its own summary, then the total. A single set that no synth
 * record covers prints as `formatViolations` does. JSON: the flat `{ violations, summary }` plus `groups`.
 */
export function formatGroups(groups: readonly FormattedGroup[], format: OutputFormat = 'text'): string {
  const all = groups.flatMap((g) => g.violations);
  if (format === 'json') {
    const detail = groups.map((g) => ({
      dir: g.dir ?? null,
      environment: g.environment?.name ?? null,
      mode: g.mode,
      violations: g.violations,
      summary: summarize(g.violations),
    }));
    return `${JSON.stringify({ violations: all, summary: summarize(all), groups: detail }, null, 2)}\n`;
  }
  if (groups.length === 1 && !groups[0].dir && !groups[0].environment) return formatViolations(all, 'text');
  const parts = groups.map((g) => `${groupTitle(g)}:\n${formatViolations(g.violations, 'text')}`);
  const t = summarize(all);
  parts.push(`total: ${t.errors} error(s), ${t.warnings} warning(s), ${t.excepted} excepted in ${groups.length} set(s)\n`);
  return parts.join('\n');
}
