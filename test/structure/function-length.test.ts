import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { functionLengths, longFunctions } from '../../scripts/long-functions';

/*
 * Functions short enough to read at once: no function, method or constructor in the infrastructure folders
 * or the runtime over 80 lines.
 */
const BOUND = 80;
const BOUNDED = ['constructs', 'stacks', 'policies', 'environments', 'core', 'runtime', 'testing', 'api'];
const ROOT = path.resolve(__dirname, '../..');
const at = (...dirs: string[]) => dirs.map((d) => path.join(ROOT, d));

describe('function length', () => {
  test(`nothing in ${BOUNDED.join('/, ')}/ is over ${BOUND} lines`, () => {
    const long = longFunctions(at(...BOUNDED), BOUND).map((f) => `${path.relative(ROOT, f.file)}:${f.line} ${f.name} (${f.lines} lines)`);
    expect(long).toEqual([]);
  });

  test('the measure counts lines as a reader sees them, nested callbacks on their own, and skips generated imports/', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'long-functions-'));
    try {
      const body = (n: number) => Array.from({ length: n }, (_, i) => `  // line ${i}`).join('\n');
      fs.writeFileSync(
        path.join(dir, 'a.ts'),
        `export function short() {\n${body(3)}\n}\n\nexport class C {\n  method() {\n    [1].map(() => {\n${body(90)}\n    });\n  }\n}\n`,
      );
      fs.mkdirSync(path.join(dir, 'imports'));
      fs.writeFileSync(path.join(dir, 'imports', 'k8s.ts'), `export function generated() {\n${body(200)}\n}\n`);
      const lengths = functionLengths(path.join(dir, 'a.ts'));
      expect(lengths.find((f) => f.name === 'short')?.lines).toBe(5);
      expect(lengths.find((f) => f.name === '<callback> in C.method')?.lines).toBe(92);
      expect(longFunctions([dir], BOUND).map((f) => f.name)).toEqual(['C.method', '<callback> in C.method']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
