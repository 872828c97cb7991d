/*
 * The project's own import graph (relative imports of .ts modules, type-only ones included: they are still
 * a dependency of the reader), with the TypeScript parser. Used by test/structure/import-graph.test.ts to
 * keep the layering — core ← environments ← constructs, policies ← stacks ← cli — and to find cycles.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

const SKIPPED_DIRS = new Set(['node_modules', 'imports', 'lib', 'dist', 'ui']);

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? SKIPPED_DIRS.has(e.name)
          ? []
          : sourceFiles(path.join(dir, e.name))
        : /\.ts$/.test(e.name) && !e.name.endsWith('.d.ts')
          ? [path.join(dir, e.name)]
          : [],
    );
}

/** The module a relative specifier names (`./x` → `x.ts` or `x/index.ts`), or undefined when it is not a .ts file. */
function resolve(from: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(from), specifier);
  return [`${base}.ts`, path.join(base, 'index.ts'), base].find((f) => f.endsWith('.ts') && fs.existsSync(f));
}

/** Every file under the folders → the project files it imports or re-exports (paths relative to root). */
export function importGraph(root: string, folders: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of folders.flatMap((f) => sourceFiles(path.join(root, f)))) {
    const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
    const specifiers: string[] = [];
    const visit = (node: ts.Node): void => {
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier))
        specifiers.push(node.moduleSpecifier.text);
      else if (
        ts.isCallExpression(node) &&
        node.expression.kind === ts.SyntaxKind.ImportKeyword &&
        node.arguments.length > 0 &&
        ts.isStringLiteral(node.arguments[0])
      )
        specifiers.push(node.arguments[0].text);
      ts.forEachChild(node, visit);
    };
    visit(source);
    const deps = specifiers
      .filter((s) => s.startsWith('.'))
      .flatMap((s) => resolve(file, s) ?? [])
      .map((f) => path.relative(root, f));
    graph.set(path.relative(root, file), [...new Set(deps)]);
  }
  return graph;
}

/** The import cycles (strongly connected components of more than one module, or a module importing itself). */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  // Every module on the stack has an index and a low-link, so the lookups below always find one.
  const get = (m: Map<string, number>, k: string): number => m.get(k) ?? Number.NaN;
  const connect = (v: string): void => {
    indices.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indices.has(w)) {
        connect(w);
        low.set(v, Math.min(get(low, v), get(low, w)));
      } else if (onStack.has(w)) low.set(v, Math.min(get(low, v), get(indices, w)));
    }
    if (low.get(v) !== indices.get(v)) return;
    const component: string[] = [];
    for (let w = stack.pop(); w !== undefined; w = w === v ? undefined : stack.pop()) {
      onStack.delete(w);
      component.push(w);
    }
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(component.sort());
  };
  for (const v of graph.keys()) if (!indices.has(v)) connect(v);
  return out;
}
