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
