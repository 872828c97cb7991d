/*
 * `mlops pipeline submit`: a Workflow from a pipeline's WorkflowTemplate (spec.workflowTemplateRef), its
 * parameters checked against the ones the template declares, and optionally followed to its end. The
 * Kubernetes side is the narrow `WorkflowApi` below (submit-cli.ts binds it to @kubernetes/client-node), so
 * this module stays free of the client and its ESM-only package.
 */

/** Argo Workflows' API group and version (v4.0.5, the declared minimum). */
export const ARGO_GROUP = 'argoproj.io';
export const ARGO_VERSION = 'v1alpha1';

/** The parts of a WorkflowTemplate submit reads. */
export interface WorkflowTemplateObject {
  metadata: { name?: string; namespace?: string };
  spec?: {
    entrypoint?: string;
    arguments?: { parameters?: Array<{ name: string; value?: string }> };
    templates?: Array<{ name: string; dag?: { tasks?: Array<{ name: string }> }; steps?: Array<Array<{ name: string }>> }>;
  };
}

/** One node of a Workflow's status (status.nodes, keyed by node id). */
export interface WorkflowNode {
  id?: string;
  displayName?: string;
  type?: string;
  phase?: string;
  message?: string;
  children?: string[];
}

export interface WorkflowObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; generateName?: string; namespace?: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
  status?: { phase?: string; message?: string; nodes?: Record<string, WorkflowNode> };
}

/** What submit needs from the Kubernetes API. */
export interface WorkflowApi {
  getWorkflowTemplate(namespace: string, name: string): Promise<WorkflowTemplateObject | undefined>;
  createWorkflow(namespace: string, body: WorkflowObject): Promise<WorkflowObject>;
  getWorkflow(namespace: string, name: string): Promise<WorkflowObject>;
}

/** Longest parameter value accepted (the environment schema's limit for defaults). */
const MAX_VALUE = 1024;
const MAX_PARAMS = 64;

/** `--param k=v` flags as a map; a flag without `=` or a repeated key is an error naming it. */
export function parseParams(flags: readonly string[]): Map<string, string> {
  if (flags.length > MAX_PARAMS) throw new Error(`at most ${MAX_PARAMS} --param flags`);
  const out = new Map<string, string>();
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new Error(`--param "${flag}": expected name=value`);
    const [key, value] = [flag.slice(0, eq), flag.slice(eq + 1)];
    if (out.has(key)) throw new Error(`--param ${key} given twice`);
    if (value.length > MAX_VALUE) throw new Error(`--param ${key}: value longer than ${MAX_VALUE} characters`);
    out.set(key, value);
  }
  return out;
}

/** The parameters a template declares, with their defaults. */
export function declaredParameters(template: WorkflowTemplateObject): Map<string, string | undefined> {
  return new Map((template.spec?.arguments?.parameters ?? []).map((p) => [p.name, p.value]));
}

/** The Workflow submitting `template` with `params`; an unknown parameter is an error listing the declared ones. */
export function workflowFromTemplate(template: WorkflowTemplateObject, params: ReadonlyMap<string, string>): WorkflowObject {
  const name = template.metadata.name ?? '';
  const declared = declaredParameters(template);
  for (const key of params.keys()) {
    if (!declared.has(key)) {
      const known = [...declared.keys()].join(', ') || 'none';
      throw new Error(`pipeline "${name}" has no parameter "${key}" (declared: ${known})`);
    }
  }
  return {
    apiVersion: `${ARGO_GROUP}/${ARGO_VERSION}`,
    kind: 'Workflow',
    metadata: { generateName: `${name}-`, labels: { 'workflows.argoproj.io/workflow-template': name } },
    spec: {
      workflowTemplateRef: { name },
      ...(params.size ? { arguments: { parameters: [...params].map(([n, value]) => ({ name: n, value })) } } : {}),
    },
  };
}

export interface SubmitOptions {
  /** Pipeline (WorkflowTemplate) name. */
  readonly name: string;
  readonly namespace: string;
  /** Parameter overrides; each must be declared by the template. @default none */
  readonly params?: ReadonlyMap<string, string>;
}

/** Creates a Workflow from the template; returns it as the API server stored it (with its generated name). */
export async function submitPipeline(api: WorkflowApi, opts: SubmitOptions): Promise<WorkflowObject> {
  const template = await api.getWorkflowTemplate(opts.namespace, opts.name);
  if (!template) throw new Error(`no WorkflowTemplate "${opts.name}" in namespace ${opts.namespace} (is the pipeline in the environment, and synthesized?)`);
  return api.createWorkflow(opts.namespace, workflowFromTemplate(template, opts.params ?? new Map()));
}

/** The step (task) names of the template's entrypoint, in definition order: what --watch reports on. */
export function stepNames(template: WorkflowTemplateObject): string[] {
  const entry = template.spec?.templates?.find((t) => t.name === template.spec?.entrypoint);
  return entry?.dag?.tasks?.map((t) => t.name) ?? entry?.steps?.flat().map((s) => s.name) ?? [];
}

/** Each step's phase in a Workflow status: its Retry node when it retries, else its Pod node (not yet started: absent). */
export function stepPhases(workflow: WorkflowObject, steps: readonly string[]): Map<string, { phase: string; attempts: number; message?: string }> {
  const nodes = Object.values(workflow.status?.nodes ?? {});
  const out = new Map<string, { phase: string; attempts: number; message?: string }>();
  for (const step of steps) {
    const node = nodes.find((n) => n.displayName === step && n.type !== 'DAG' && n.type !== 'Steps');
    if (!node?.phase) continue;
    const attempts = node.type === 'Retry' ? (node.children?.length ?? 0) : 1;
    out.set(step, { phase: node.phase, attempts, ...(node.message ? { message: node.message } : {}) });
  }
  return out;
}

/** Workflow phases after which nothing changes. */
export const FINAL_PHASES = new Set(['Succeeded', 'Failed', 'Error']);

export interface WatchOptions {
  readonly namespace: string;
  /** The submitted Workflow's name. */
  readonly workflow: string;
  /** Step names to report, in order (`stepNames` of the template). */
  readonly steps: readonly string[];
  readonly log: (line: string) => void;
  /** Poll interval. @default 1000 ms */
  readonly intervalMs?: number;
  /** Give up after this long (the CLI's --timeout). @default no limit */
  readonly timeoutMs?: number;
}

/**
 * Follows a Workflow until it finishes: a line per step whenever its phase (or attempt) changes, then the
 * final phase, which it returns. Polls the object rather than holding a watch open, so an API server
 * restart or an idle-connection timeout in between costs one poll, not the watch.
 */
export async function watchWorkflow(api: WorkflowApi, opts: WatchOptions): Promise<string> {
  const seen = new Map<string, string>();
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  let lastPhase = '';
  for (;;) {
    const wf = await api.getWorkflow(opts.namespace, opts.workflow);
    for (const [step, s] of stepPhases(wf, opts.steps)) {
      const key = `${s.phase}/${s.attempts}`;
      if (seen.get(step) === key) continue;
      seen.set(step, key);
      const retry = s.attempts > 1 ? ` (attempt ${s.attempts})` : '';
      opts.log(`${step.padEnd(width(opts.steps))}  ${s.phase}${retry}${s.message && s.phase !== 'Succeeded' ? `: ${s.message}` : ''}`);
    }
    const phase = wf.status?.phase ?? 'Pending';
    if (FINAL_PHASES.has(phase)) {
      opts.log(`${opts.workflow}: ${phase}${wf.status?.message ? ` (${wf.status.message})` : ''}`);
      return phase;
    }
    if (phase !== lastPhase && phase !== 'Running') opts.log(`${opts.workflow}: ${phase}`);
    lastPhase = phase;
    if (Date.now() > deadline) throw new Error(`${opts.workflow} still ${phase} after ${Math.round((opts.timeoutMs ?? 0) / 1000)}s`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000));
  }
}

const width = (steps: readonly string[]) => Math.max(0, ...steps.map((s) => s.length));
