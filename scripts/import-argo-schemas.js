#!/usr/bin/env node
/*
 * Regenerates constructs/imports/argo-workflows.json: the openAPIV3Schema of the Argo Workflows kinds the
 * platform renders (WorkflowTemplate, CronWorkflow), taken
 * from the CRDs in the Go module zip github.com/argoproj/argo-workflows/v4@<version> (manifests/base/crds/full,
 * fetched with `go mod download`, as test/cluster/build/build.sh fetches the CRDs). Descriptions are dropped (they
 * are 80% of the size and no validation reads them); nothing else is changed. See docs/adr/0022-pipelines-on-argo.md.
 *
 *   node scripts/import-argo-schemas.js [v4.0.5]
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parse } = require('yaml');

const version = process.argv[2] ?? 'v4.0.5';
const root = path.resolve(__dirname, '..');
const out = path.join(root, 'constructs', 'imports', 'argo-workflows.json');
const KINDS = { WorkflowTemplate: 'argoproj.io_workflowtemplates.yaml', CronWorkflow: 'argoproj.io_cronworkflows.yaml' };

function moduleDir() {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'argo-crds-'));
  try {
    const json = execFileSync('go', ['mod', 'download', '-json', `github.com/argoproj/argo-workflows/v4@${version}`], {
      cwd: scratch,
      encoding: 'utf8',
      env: { ...process.env, GO111MODULE: 'on', GOFLAGS: '' },
    });
    return JSON.parse(json).Dir;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** The schema without `description` keywords (a property named "description" is kept). */
function withoutDescriptions(node, inProperties = false) {
  if (Array.isArray(node)) return node.map((n) => withoutDescriptions(n));
  if (node === null || typeof node !== 'object') return node;
  const res = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'description' && !inProperties) continue;
    res[k] = withoutDescriptions(v, k === 'properties' && !inProperties);
  }
  return res;
}

const dir = path.join(moduleDir(), 'manifests', 'base', 'crds', 'full');
const schemas = {};
for (const [kind, file] of Object.entries(KINDS)) {
  const crd = parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  const served = crd.spec.versions.find((v) => v.storage);
  schemas[kind] = { apiVersion: `${crd.spec.group}/${served.name}`, schema: withoutDescriptions(served.schema.openAPIV3Schema) };
}
fs.writeFileSync(out, JSON.stringify({ source: `github.com/argoproj/argo-workflows/v4@${version} manifests/base/crds/full`, kinds: schemas }) + '\n');
console.log(`wrote ${path.relative(root, out)} (${fs.statSync(out).size} bytes)`);
