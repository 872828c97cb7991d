/*
 * Lists the functions, methods and constructors longer than a line budget, longest first, with the TypeScript
 * compiler's own parse (so a nested callback counts on its own, and comments and blank lines inside a body
 * count, as a reader sees them). Generated code (`imports/` folders, `.d.ts`) is skipped.
 *
 *   npx tsx scripts/long-functions.ts [--over 60] [--fail-over 80] [dir|file ...]
 *
 * Default directories: constructs stacks policies environments core. Exit status 1 when any function is longer
 * than `--fail-over` (when given). test/structure/function-length.test.ts bounds the infrastructure folders
 * at 80 lines; `npm run report:functions` lists the longest everywhere, runtime/ included.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

export interface LongFunction {
  readonly file: string;
  readonly line: number;
  readonly name: string;
  readonly lines: number;
}

const SKIPPED_DIRS = new Set(['node_modules', 'imports', 'lib', 'dist']);

function sourceFiles(target: string): string[] {
  const stat = fs.statSync(target);
  if (stat.isFile()) return /\.tsx?$/.test(target) && !target.endsWith('.d.ts') ? [target] : [];
  return fs
    .readdirSync(target, { withFileTypes: true })
    .filter((e) => !(e.isDirectory() && SKIPPED_DIRS.has(e.name)))
    .flatMap((e) => sourceFiles(path.join(target, e.name)))
    .sort();
}

/** A readable name: `Class.method`, `Class.constructor`, the function's or the variable's name, or `<callback> in <outer>`. */
function nameOf(node: ts.Node): string {
  const owner = (n: ts.Node): string => {
    const cls = ts.findAncestor(n.parent, ts.isClassLike);
    return cls?.name ? `${cls.name.text}.` : '';
  };
  if (ts.isConstructorDeclaration(node)) return `${owner(node)}constructor`;
  if ((ts.isMethodDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node) || ts.isFunctionDeclaration(node)) && node.name) {
    return `${ts.isFunctionDeclaration(node) ? '' : owner(node)}${node.name.getText()}`;
  }
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))
    return `${owner(parent)}${parent.name.getText()}`;
  const outer = ts.findAncestor(parent, (n) => ts.isFunctionLike(n) && !ts.isArrowFunction(n) && !ts.isFunctionExpression(n));
  return `<callback>${outer ? ` in ${nameOf(outer)}` : ''}`;
}

function isMeasured(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return (
    (ts.isFunctionDeclaration(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isConstructorDeclaration(node) ||
      ts.isArrowFunction(node) ||
      ts.isFunctionExpression(node) ||
      ts.isGetAccessor(node) ||
      ts.isSetAccessor(node)) &&
    node.body !== undefined
  );
}

/** Every function-like declaration with a body in one file, with its length in lines (first to last line). */
export function functionLengths(file: string): LongFunction[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (isMeasured(node)) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      out.push({ file, line: start + 1, name: nameOf(node), lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** The functions over `over` lines under the targets, longest first. */
export function longFunctions(targets: readonly string[], over: number): LongFunction[] {
  return targets
    .flatMap(sourceFiles)
    .flatMap(functionLengths)
    .filter((f) => f.lines > over)
    .sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file) || a.line - b.line);
}

function main(argv: string[]): number {
  let over = 60;
  let failOver: number | undefined;
  const targets: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--over') over = Number(argv[++i]);
    else if (argv[i] === '--fail-over') failOver = Number(argv[++i]);
    else targets.push(argv[i]);
  }
  if (!Number.isInteger(over) || (failOver !== undefined && !Number.isInteger(failOver)))
    throw new Error('--over and --fail-over take a whole number of lines');
  const found = longFunctions(targets.length ? targets : ['constructs', 'stacks', 'policies', 'environments', 'core'], over);
  for (const f of found) process.stdout.write(`${String(f.lines).padStart(4)}  ${f.file}:${f.line}  ${f.name}\n`);
  process.stdout.write(`${found.length} function(s) over ${over} lines\n`);
  const failing = failOver === undefined ? [] : found.filter((f) => f.lines > failOver);
  if (failing.length) process.stderr.write(`${failing.length} function(s) over ${failOver} lines\n`);
  return failing.length ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
