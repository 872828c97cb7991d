import * as path from 'node:path';
import { cycles, importGraph } from '../../scripts/import-graph';

/*
 * The infrastructure folders import one way: core (the ground floor) ← environments ← constructs and
 * policies ← stacks ← testing ← api (the package's entries) and cli (the composition root, which nothing
 * imports). The package's entries never reach cli/ or runtime/. No cycles among them.
 */
const ROOT = path.resolve(__dirname, '../..');
const FOLDERS = ['core', 'environments', 'constructs', 'policies', 'stacks', 'testing', 'api', 'cli'];
/** The folders each may import (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  environments: ['core'],
  constructs: ['core', 'environments'],
  policies: ['core', 'environments'],
  stacks: ['core', 'environments', 'constructs', 'policies'],
  testing: ['core', 'environments', 'constructs', 'policies', 'stacks'],
  api: ['core', 'environments', 'constructs', 'policies', 'stacks', 'testing'],
  cli: ['core', 'environments', 'constructs', 'policies', 'stacks', 'runtime'],
};
const folderOf = (file: string) => file.split(path.sep)[0];

describe('import graph', () => {
  const graph = importGraph(ROOT, FOLDERS);

  test('reads the imports it should (a known edge of each kind is found)', () => {
    expect(graph.get(path.join('stacks', 'gitops.ts'))).toContain(path.join('constructs', 'platform.ts'));
    expect(graph.get(path.join('policies', 'index.ts'))).toContain(path.join('core', 'kube-objects.ts'));
    // dynamic import()
    expect(graph.get(path.join('environments', 'image-lock', 'cli.ts'))).toContain(path.join('environments', 'image-lock', 'reference.ts'));
  });

  test.each(FOLDERS.filter((f) => f !== 'cli'))('%s/ imports only the layers below it, never cli/', (folder) => {
    const wrong = [...graph]
      .filter(([file]) => folderOf(file) === folder)
      .flatMap(([file, deps]) => deps.filter((d) => folderOf(d) !== folder && !ALLOWED[folder].includes(folderOf(d))).map((d) => `${file} → ${d}`));
    expect(wrong).toEqual([]);
  });

  test('no import cycles', () => {
    expect(cycles(graph)).toEqual([]);
  });

  test('the cycle finder finds cycles', () => {
    expect(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
          ['d', ['d']],
          ['e', ['a']],
        ]),
      ),
    ).toEqual([['a', 'b', 'c'], ['d']]);
  });
});
