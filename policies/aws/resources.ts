import type { PolicyContext, Severity } from '../types';
import type { Finding } from '../rule';

/** A cloud resource as Pulumi sees it: its type token (`aws:s3/bucket:Bucket`), logical name and properties. */
export interface AwsResource {
  type: string;
  name: string;
  props: Record<string, unknown>;
}

/** A rule over the cloud resources of one stack; cross-resource rules (S3 companions) need them all. */
export interface AwsRule {
  id: string;
  severity: Severity;
  description: string;
  remediation: string;
  /** Type tokens the rule reports on. */
  types: readonly string[];
  check(resource: AwsResource, all: readonly AwsResource[], ctx: AwsContext): Finding[];
}

export interface AwsContext extends PolicyContext {
  /** Production rules (RDS Multi-AZ) apply; default: the environment is named `prod`. */
  production?: boolean;
}

export function isProduction(ctx: AwsContext): boolean {
  return ctx.production ?? ctx.environment?.name === 'prod';
}

/** An IAM/S3 policy document given as a JSON string or an object; undefined while unknown (preview). */
export interface PolicyStatement {
  Effect?: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export function policyStatements(doc: unknown): PolicyStatement[] | undefined {
  let parsed = doc;
  if (typeof doc === 'string') {
    try {
      parsed = JSON.parse(doc);
    } catch {
      return undefined;
    }
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const st = (parsed as { Statement?: unknown }).Statement;
  if (Array.isArray(st)) return st as PolicyStatement[];
  return st && typeof st === 'object' ? [st] : [];
}

export function list(v: unknown): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v.map(String) : [typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v)];
}
