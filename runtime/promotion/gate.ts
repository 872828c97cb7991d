import { ownValue } from '../../core/records';
/**
 * Promotion gates: conditions on the run that produced a model version, written like MLflow's search
 * filters — `metrics.auc >= 0.8`, `params.model_type = 'logistic_regression'`, `tags.validated != 'false'`.
 * Several conditions join with `and` (or repeat --require).
 */

export type GateOperator = '>=' | '<=' | '>' | '<' | '=' | '==' | '!=';
export interface GateCondition {
  /** The condition as written, for messages. */
  text: string;
  scope: 'metrics' | 'params' | 'tags';
  key: string;
  op: GateOperator;
  /** A number for metrics; a string for params and tags (compared numerically when both sides are numbers). */
  value: number | string;
}

export class GateSyntaxError extends Error {
  override name = 'GateSyntaxError';
}

const CONDITION = /^(metrics|params|tags)\.(`[^`]+`|"[^"]+"|[A-Za-z0-9_\-./:]+)\s*(>=|<=|==|!=|=|>|<)\s*(.+)$/;

function unquote(s: string): string {
  const m = /^(['"`])(.*)\1$/.exec(s);
  return m ? m[2] : s;
}

/** Parses one or more `and`-joined conditions; throws GateSyntaxError naming the bad part. */
export function parseGate(expression: string): GateCondition[] {
  const parts = expression.split(/\s+and\s+/i).map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) throw new GateSyntaxError(`empty condition in "${expression}"`);
  return parts.map((text) => {
    const m = CONDITION.exec(text);
    if (!m) throw new GateSyntaxError(`cannot parse "${text}": expected <metrics|params|tags>.<key> <op> <value> with op one of >=, <=, >, <, =, !=`);
    const scope = m[1] as GateCondition['scope'];
    const key = unquote(m[2]);
    const op = m[3] as GateOperator;
    const raw = m[4].trim();
    if (scope === 'metrics') {
      const value = Number(raw);
      if (raw === '' || !Number.isFinite(value)) throw new GateSyntaxError(`"${text}": a metric is compared with a number, not ${raw}`);
      return { text, scope, key, op, value };
    }
    const quoted = /^(['"]).*\1$/.test(raw);
    if (!quoted && !Number.isFinite(Number(raw))) throw new GateSyntaxError(`"${text}": quote string values, e.g. ${scope}.${key} ${op} '${raw}'`);
    return { text, scope, key, op, value: quoted ? unquote(raw) : raw };
  });
}

export interface GateRunData {
  metrics: Record<string, number>;
  params: Record<string, string>;
  tags: Record<string, string>;
}

function compare(actual: number | string, op: GateOperator, expected: number | string): boolean {
  const numeric = typeof actual === 'number' || (Number.isFinite(Number(actual)) && Number.isFinite(Number(expected)) && actual !== '');
  const a = numeric ? Number(actual) : actual;
  const e = numeric ? Number(expected) : String(expected);
  switch (op) {
    case '>=':
      return a >= e;
    case '<=':
      return a <= e;
    case '>':
      return a > e;
    case '<':
      return a < e;
    case '=':
    case '==':
      return a === e;
    case '!=':
      return a !== e;
  }
}

export interface GateFailure {
  condition: GateCondition;
  /** Why, in one line: the actual value, or that the key was never logged. */
  reason: string;
}

/** Evaluates conditions; returns the failing ones (empty = the gate passes). */
export function evaluateGate(conditions: readonly GateCondition[], run: GateRunData): GateFailure[] {
  const failures: GateFailure[] = [];
  for (const c of conditions) {
    const actual = ownValue<string | number>(run[c.scope], c.key);
    if (actual === undefined) {
      failures.push({ condition: c, reason: `${c.scope}.${c.key} is not logged on the run` });
      continue;
    }
    if (c.scope !== 'metrics' && c.op !== '=' && c.op !== '==' && c.op !== '!=' && !Number.isFinite(Number(actual))) {
      failures.push({ condition: c, reason: `${c.scope}.${c.key} is '${actual}', not a number to compare with ${c.op}` });
      continue;
    }
    if (!compare(actual, c.op, c.value))
      failures.push({ condition: c, reason: `${c.scope}.${c.key} is ${typeof actual === 'number' ? actual : `'${actual}'`}` });
  }
  return failures;
}
