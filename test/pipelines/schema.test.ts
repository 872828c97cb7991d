import { builtInEnvironments, deepMerge, EnvironmentValidationError, validateEnvironment } from '../../environments';
import { churnPipeline, topologicalOrder, type PipelineInput } from '../../environments/pipelines';

/** Validates `dev` with `pipelines` set and returns the problems (field path → message). */
function problemsOf(pipelines: Record<string, PipelineInput>, patch: Record<string, unknown> = {}): Record<string, string> {
  try {
    validateEnvironment({ ...deepMerge(builtInEnvironments.dev, patch), pipelines });
  } catch (err) {
    expect(err).toBeInstanceOf(EnvironmentValidationError);
    const e = err as EnvironmentValidationError;
    // Each problem is one line naming its field.
    for (const line of e.message.split('\n').slice(1)) expect(line).toMatch(/^ {2}pipelines\.|^ {2}training\./);
    return Object.fromEntries(e.problems.map((p) => [p.path, p.message]));
  }
  throw new Error('expected the configuration to be invalid');
}

const step = (extra: Record<string, unknown> = {}) => ({ command: ['mlops', 'noop'], ...extra });

describe('pipelines: schema', () => {
  test('the default churn pipeline validates, with defaults filled in, and orders its steps by dependency', () => {
    const env = validateEnvironment({ ...builtInEnvironments.dev, pipelines: { churn: churnPipeline() } });
    const churn = env.pipelines!.churn;
    expect(topologicalOrder(churn)).toEqual(['prepare-data', 'train', 'evaluate', 'register', 'promote']);
    expect(churn.steps.train).toMatchObject({
      retries: 1,
      timeoutSeconds: 3600,
      gpus: 1,
      outputs: ['run-id', 'model-uri'],
      inputArtifacts: { dataset: 'prepare-data' },
    });
    expect(churn.timeoutSeconds).toBe(4 * 3600);
  });

  test('a dependency cycle is one error naming the step and the cycle', () => {
    const problems = problemsOf({ p: { steps: { a: step({ dependsOn: ['c'] }), b: step({ dependsOn: ['a'] }), c: step({ dependsOn: ['b'] }) } } });
    expect(problems).toEqual({ 'pipelines.p.steps.a.dependsOn': 'dependency cycle: a → c → b → a' });
  });

  test('a step depending on itself is a cycle', () => {
    expect(problemsOf({ p: { steps: { a: step({ dependsOn: ['a'] }) } } })).toEqual({ 'pipelines.p.steps.a.dependsOn': 'dependency cycle: a → a' });
  });

  test('an unknown dependency names the field and the defined steps', () => {
    expect(problemsOf({ p: { steps: { a: step(), b: step({ dependsOn: ['a', 'trian'] }) } } })).toEqual({
      'pipelines.p.steps.b.dependsOn[1]': 'unknown step "trian" (defined: a, b)',
    });
  });

  test('a step on a GPU pool the environment lacks', () => {
    expect(problemsOf({ p: { steps: { a: step({ gpuPool: 'a100' }) } } })).toEqual({
      'pipelines.p.steps.a.gpuPool': 'unknown GPU pool "a100" (defined: none)',
    });
    const prodPools = (builtInEnvironments.prod.gpu?.pools ?? []).map((p) => p.name);
    expect(prodPools.length).toBeGreaterThan(0);
    try {
      validateEnvironment({ ...builtInEnvironments.prod, pipelines: { p: { steps: { a: step({ gpuPool: 'h100' }) } } } });
      throw new Error('expected invalid');
    } catch (err) {
      expect((err as EnvironmentValidationError).problems).toEqual([
        { path: 'pipelines.p.steps.a.gpuPool', message: `unknown GPU pool "h100" (defined: ${prodPools.join(', ')})` },
      ]);
    }
  });

  test('a distributed step: no outputs, artifacts or input artifacts (Argo collects no files from its pods), each named', () => {
    const why =
      'not supported on a distributed step (a PyTorchJob: Argo collects no files from its pods); later steps find its run with mlops pipeline step find-run';
    const steps = {
      a: step({ artifacts: ['data'] }),
      b: step({ dependsOn: ['a'], distributed: { workers: 2 }, outputs: ['run-id'], artifacts: ['model'], inputArtifacts: { data: 'a' } }),
    };
    expect(problemsOf({ p: { steps } })).toEqual({
      'pipelines.p.steps.b.outputs': why,
      'pipelines.p.steps.b.artifacts': why,
      'pipelines.p.steps.b.inputArtifacts': why,
    });
    expect(problemsOf({ p: { steps: { a: step({ distributed: { workers: 1 } }) } } })).toEqual({
      'pipelines.p.steps.a.distributed.workers': 'must be at least 2 (one pod is the plain training Job)',
    });
  });

  test("a distributed step's GPUs need the step's pool and must fit one of its nodes", () => {
    expect(problemsOf({ p: { steps: { a: step({ distributed: { workers: 2, gpusPerWorker: 1 } }) } } })).toEqual({
      'pipelines.p.steps.a.distributed.gpusPerWorker': 'needs pipelines.p.steps.a.gpuPool (GPU pools: none)',
    });
    try {
      validateEnvironment({
        ...builtInEnvironments.prod,
        pipelines: { p: { steps: { a: step({ gpuPool: 'gpu-training', distributed: { workers: 2, gpusPerWorker: 4 } }) } } },
      });
      throw new Error('expected invalid');
    } catch (err) {
      expect((err as EnvironmentValidationError).problems).toEqual([
        {
          path: 'pipelines.p.steps.a.distributed.gpusPerWorker',
          message: 'must be ≤ gpusPerNode of GPU pool "gpu-training" (1): a worker runs on one node',
        },
      ]);
    }
    // The distributed churn pipeline on prod's pool validates.
    expect(() =>
      validateEnvironment({
        ...builtInEnvironments.prod,
        images: { requireDigests: false },
        pipelines: { churn: churnPipeline({ training: { gpuPool: 'gpu-training', distributed: { workers: 4, gpusPerWorker: 1 } } }) },
      }),
    ).not.toThrow();
  });

  test('placeholders must resolve: parameters, outputs of dependencies, own outputs and artifacts', () => {
    const problems = problemsOf({
      p: {
        parameters: { rows: '10' },
        steps: {
          a: step({ outputs: ['run-id'], artifacts: ['data'], args: ['{{params.rowz}}'] }),
          b: step({ args: ['{{steps.a.model-uri}}', '{{steps.c.run-id}}', '{{outputs.x}}', '{{artifacts.data}}', '{{workflow.name}}'], dependsOn: ['a'] }),
          c: step({ outputs: ['run-id'], inputArtifacts: { data: 'b' } }),
        },
      },
    });
    expect(problems).toEqual({
      'pipelines.p.steps.a.args[0]': '{{params.rowz}}: unknown parameter "rowz" (defined: rows)',
      'pipelines.p.steps.b.args[0]': '{{steps.a.model-uri}}: step "a" has no output "model-uri"',
      'pipelines.p.steps.b.args[1]': '{{steps.c.run-id}}: step "c" is not a dependency of "b"',
      'pipelines.p.steps.b.args[2]': '{{outputs.x}}: "x" is not in this step\'s outputs',
      'pipelines.p.steps.b.args[3]': '{{artifacts.data}}: "data" is neither produced nor taken by this step',
      'pipelines.p.steps.b.args[4]': '{{workflow.name}}: unknown placeholder (use params.X, steps.S.X, outputs.X or artifacts.X)',
      'pipelines.p.steps.c.inputArtifacts.data': 'step "b" is not a dependency of "c"',
    });
  });

  test('bad names, images, bounds and unknown fields', () => {
    expect(
      problemsOf({
        Bad_Name: { steps: { a: step() } },
        p: { steps: { a: step({ image: 'repo/x:latest', retries: 11, timeoutSeconds: 1, gpus: 0, cmd: ['x'] }) } },
        q: { steps: {} },
      }),
    ).toEqual({
      'pipelines.Bad_Name': 'name must be a DNS-1123 label (lowercase letters, digits, "-")',
      'pipelines.p.steps.a': 'unknown field "cmd"',
      'pipelines.p.steps.a.retries': 'Too big: expected number to be <=10',
      'pipelines.p.steps.a.timeoutSeconds': 'Too small: expected number to be >=10',
      'pipelines.p.steps.a.gpus': 'Too small: expected number to be >=1',
      'pipelines.q.steps': 'must have between 1 and 64 steps',
    });
    expect(problemsOf({ p: { steps: { a: step({ image: 'repo/x:latest' }) } } })).toEqual({
      'pipelines.p.steps.a.image': 'image "repo/x:latest" uses the mutable tag "latest"; pin a version or a digest',
    });
  });

  test('the churn pipeline beside the retraining schedule is accepted: the drift check then starts the pipeline (test/pipelines/submit.test.ts)', () => {
    const env = validateEnvironment({
      ...deepMerge(builtInEnvironments.dev, { training: { retrainSchedule: '0 3 * * *' } }),
      pipelines: { churn: churnPipeline() },
    });
    expect(env.training.retrainSchedule).toBe('0 3 * * *');
    expect(Object.keys(env.pipelines ?? {})).toEqual(['churn']);
  });
});
