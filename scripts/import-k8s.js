#!/usr/bin/env node
/*
 * Regenerates constructs/imports/k8s.ts: `cdk8s import k8s@<version>` (cdk8s-cli, a devDependency), fed
 * with the Kubernetes release's own OpenAPI definitions instead of the copy the CLI downloads from
 * raw.githubusercontent.com (build machines here reach only package registries). The schema comes from
 * `api/openapi-spec/swagger.json` of the Go module k8s.io/kubernetes@v<version> (`go mod download`), with
 * the two changes cdk8s's published `kubernetes-schemas/v<version>/_definitions.json` makes to it (see
 * `cdk8sDefinitions`). See docs/adr/0020-generated-k8s-imports.md.
 *
 *   node scripts/import-k8s.js [1.28.0]
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const version = process.argv[2] ?? '1.28.0';
const root = path.resolve(__dirname, '..');
const outdir = path.join(root, 'constructs', 'imports');
// cdk8s-cli exports no API: its modules are loaded by path (the same ones `cdk8s import` runs).
const cliDir = path.join(root, 'node_modules', 'cdk8s-cli');

/** The Go module directory of k8s.io/kubernetes@v<version>, downloaded into the module cache when absent. */
function kubernetesModuleDir() {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'k8s-spec-'));
  try {
    const out = execFileSync('go', ['mod', 'download', '-json', `k8s.io/kubernetes@v${version}`], {
      cwd: scratch,
      encoding: 'utf8',
      env: { ...process.env, GO111MODULE: 'on' },
    });
    return JSON.parse(out).Dir;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The definitions as cdk8s publishes them: the release's, with each API object's `kind` narrowed to its own
 * kind, and Quantity and IntOrString as a string-or-number union (what makes the generator emit their
 * `fromString`/`fromNumber` classes).
 */
function cdk8sDefinitions(swagger) {
  const definitions = swagger.definitions;
  definitions['io.k8s.apimachinery.pkg.api.resource.Quantity'] = { oneOf: [{ type: 'string' }, { type: 'number' }] };
  definitions['io.k8s.apimachinery.pkg.util.intstr.IntOrString'] = { oneOf: [{ type: 'string' }, { type: 'integer' }] };
  for (const def of Object.values(definitions)) {
    const gvk = def['x-kubernetes-group-version-kind'];
    const kind = def.properties?.kind;
    if (!Array.isArray(gvk) || gvk.length === 0 || !kind || kind.enum) continue;
    kind.enum = [...new Set(gvk.map((g) => g.kind))];
  }
  return { definitions };
}

async function main() {
  const spec = path.join(kubernetesModuleDir(), 'api', 'openapi-spec', 'swagger.json');
  const schema = JSON.stringify(cdk8sDefinitions(JSON.parse(fs.readFileSync(spec, 'utf8'))));
  const expectedUrl = `https://raw.githubusercontent.com/cdk8s-team/cdk8s/master/kubernetes-schemas/v${version}/_definitions.json`;
  // The importer looks the schema up through this function at call time: answer that one URL, nothing else.
  const util = require(path.join(cliDir, 'lib', 'util.js'));
  util.download = async (url) => {
    if (url !== expectedUrl) throw new Error(`import-k8s: unexpected download ${url}`);
    return schema;
  };
  const { importDispatch } = require(path.join(cliDir, 'lib', 'import', 'dispatch.js'));
  fs.mkdirSync(outdir, { recursive: true });
  await importDispatch([util.parseImports(`k8s@${version}`)], {}, { outdir, targetLanguage: 'typescript', save: false });
  process.stdout.write(
    `${path.relative(root, path.join(outdir, 'k8s.ts'))} generated from k8s.io/kubernetes@v${version} ${path.relative(path.dirname(path.dirname(path.dirname(spec))), spec)}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`import-k8s: ${err.message}\n`);
  process.exitCode = 1;
});
