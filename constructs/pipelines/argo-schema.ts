import Ajv, { type ValidateFunction } from 'ajv';
// The upstream v4.0.5 CRD schemas (scripts/import-argo-schemas.js): the judge of what synth writes.
import imported from '../imports/argo-workflows.json';

type Schema = Record<string, unknown>;
const KINDS = imported.kinds as Partial<Record<string, { apiVersion: string; schema: Schema }>>;

/**
 * The schema as the API server applies it with strict field validation: an object that lists its properties
 * and does not preserve unknown fields rejects any other field (the API server would drop it silently, which
 * hides typos), and the Kubernetes `x-kubernetes-*` keywords are left to ajv's non-strict mode.
 */
function strict(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strict);
  if (node === null || typeof node !== 'object') return node;
  const src = node as Schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(src))
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as Schema).map(([p, s]) => [p, strict(s)])) : strict(v);
  if (src.properties && src.additionalProperties === undefined && !src['x-kubernetes-preserve-unknown-fields']) out.additionalProperties = false;
  return out;
}

const compiled = new Map<string, ValidateFunction>();

function validator(kind: string): ValidateFunction | undefined {
  const entry = KINDS[kind];
  if (!entry) return undefined;
  let v = compiled.get(kind);
  if (!v) {
    // Unoptimized code generation: the schemas are large (every template type inlines the core/v1 pod schemas) and
    // ajv's optimizer doubles their compile time for no gain on a few objects per synth.
    const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: false, code: { optimize: false } });
    // metadata is validated by the API server itself (ObjectMeta), not by the CRD schema.
    v = ajv.compile(strict(entry.schema) as Schema);
    compiled.set(kind, v);
  }
  return v;
}

/** Whether an apiVersion/kind is an Argo Workflows kind checked here. */
export function isArgoWorkflowsKind(apiVersion: string, kind: string): boolean {
  return KINDS[kind]?.apiVersion === apiVersion;
}

/** Problems of one object against its upstream CRD schema (empty when valid), as `field: message`. */
export function argoSchemaProblems(obj: { apiVersion: string; kind: string }): string[] {
  const validate = validator(obj.kind);
  if (!validate || !isArgoWorkflowsKind(obj.apiVersion, obj.kind)) return [`no upstream schema for ${obj.apiVersion} ${obj.kind}`];
  if (validate(obj)) return [];
  return (validate.errors ?? []).map((e) => {
    const extra = e.keyword === 'additionalProperties' ? ` "${(e.params as { additionalProperty: string }).additionalProperty}"` : '';
    return `${e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(root)'}: ${e.message ?? e.keyword}${extra}`;
  });
}
