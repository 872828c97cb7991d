#!/usr/bin/env node
/*
 * Regenerates the Kubeflow L1 classes and schemas the distributed-training and tuning constructs use:
 *   constructs/imports/kubeflow.org.ts                       `cdk8s import` output: PyTorchJob, Experiment
 *   constructs/imports/schemas/kubeflow.org_v1_PyTorchJob.json       openAPIV3Schema of the upstream CRD
 *   constructs/imports/schemas/kubeflow.org_v1beta1_Experiment.json  Katib's OpenAPI definition, refs inlined
 * from the pinned Go module zips (`go mod download`), the same ones test/cluster/build/crds.tsv names:
 *   - github.com/kubeflow/training-operator v1.8.1, manifests/base/crds/kubeflow.org_pytorchjobs.yaml;
 *   - github.com/kubeflow/katib v0.19.0: its Experiment CRD is open (`x-kubernetes-preserve-unknown-fields`,
 *     validated by Katib's webhook), so the typed shape comes from the module's own OpenAPI spec,
 *     pkg/apis/v1beta1/swagger.json (generated from its Go types), with the Kubernetes types it refers to
 *     (ObjectMeta, Container, ...) left open and `trialSpec` (an Unstructured) open: the trial's object is
 *     validated against its own schema. See docs/adr/0022-pytorchjob-over-trainjob.md.
 *
 *   node scripts/import-kubeflow.js
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const YAML = require('yaml');

const TRAINING_OPERATOR = ['github.com/kubeflow/training-operator', 'v1.8.1'];
const KATIB = ['github.com/kubeflow/katib', 'v0.19.0'];
const root = path.resolve(__dirname, '..');
const outdir = path.join(root, 'constructs', 'imports');
const cliDir = path.join(root, 'node_modules', 'cdk8s-cli');

function moduleDir([module, version]) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeflow-mod-'));
  try {
    const out = execFileSync('go', ['mod', 'download', '-json', `${module}@${version}`], {
      cwd: scratch,
      encoding: 'utf8',
      env: { ...process.env, GO111MODULE: 'on' },
    });
    return JSON.parse(out).Dir;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Katib's swagger definition of Experiment with every `$ref` inlined; refs outside Katib's own types stay open objects. */
function katibExperimentSchema(swagger) {
  const defs = swagger.definitions;
  const open = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  const inline = (node, stack) => {
    if (Array.isArray(node)) return node.map((n) => inline(n, stack));
    if (!node || typeof node !== 'object') return node;
    if (node.$ref) {
      const name = node.$ref.replace('#/definitions/', '');
      const { $ref, ...rest } = node;
      if (!name.startsWith('v1beta1.') || !defs[name] || stack.includes(name)) return { ...rest, ...open };
      return { ...rest, ...inline(defs[name], [...stack, name]) };
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, inline(v, stack)]));
  };
  const schema = inline(defs['v1beta1.Experiment'], ['v1beta1.Experiment']);
  // trialSpec is an unstructured.Unstructured: any Kubernetes object (Job, PyTorchJob, ...).
  schema.properties.spec.properties.trialTemplate.properties.trialSpec = { description: 'The trial object (validated against its own kind)', ...open };
  return schema;
}

function crd(group, kind, plural, version, schema) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      names: { kind, plural },
      scope: 'Namespaced',
      versions: [{ name: version, served: true, storage: true, schema: { openAPIV3Schema: schema } }],
    },
  };
}

async function main() {
  const to = moduleDir(TRAINING_OPERATOR);
  const pytorch = YAML.parse(fs.readFileSync(path.join(to, 'manifests/base/crds/kubeflow.org_pytorchjobs.yaml'), 'utf8'));
  const pytorchSchema = pytorch.spec.versions.find((v) => v.name === 'v1').schema.openAPIV3Schema;
  const katib = moduleDir(KATIB);
  const experimentSchema = katibExperimentSchema(JSON.parse(fs.readFileSync(path.join(katib, 'pkg/apis/v1beta1/swagger.json'), 'utf8')));
  fs.mkdirSync(path.join(outdir, 'schemas'), { recursive: true });
  fs.writeFileSync(path.join(outdir, 'schemas', 'kubeflow.org_v1_PyTorchJob.json'), JSON.stringify(pytorchSchema) + '\n');
  fs.writeFileSync(path.join(outdir, 'schemas', 'kubeflow.org_v1beta1_Experiment.json'), JSON.stringify(experimentSchema) + '\n');

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeflow-crds-'));
  try {
    const file = path.join(tmp, 'kubeflow.yaml');
    const docs = [
      crd('kubeflow.org', 'PyTorchJob', 'pytorchjobs', 'v1', pytorchSchema),
      crd('kubeflow.org', 'Experiment', 'experiments', 'v1beta1', experimentSchema),
    ];
    fs.writeFileSync(file, docs.map((d) => YAML.stringify(d)).join('---\n'));
    const util = require(path.join(cliDir, 'lib', 'util.js'));
    const { importDispatch } = require(path.join(cliDir, 'lib', 'import', 'dispatch.js'));
    await importDispatch([util.parseImports(file)], {}, { outdir, targetLanguage: 'typescript', save: false });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  process.stdout.write(`constructs/imports/kubeflow.org.ts and schemas/ generated from ${TRAINING_OPERATOR.join('@')} and ${KATIB.join('@')}\n`);
}

main().catch((err) => {
  process.stderr.write(`import-kubeflow: ${err.message}\n`);
  process.exitCode = 1;
});
