import { parseAllDocuments } from 'yaml';
import { defineEnvironment, builtInEnvironments } from '../../api/environments';
import { snapshot, stableObjects, synthesize } from '../../api/testing';
import { testImageLockFile } from '../helpers/image-lock';

/* The `testing` entry's snapshot: the whole output, in an order that depends on the objects only. */
describe('snapshot', () => {
  const out = synthesize(defineEnvironment(builtInEnvironments.dev), { imageLock: testImageLockFile() });

  test('holds every object of every file, each under its file name', () => {
    const text = snapshot(out.files);
    const docs = parseAllDocuments(text)
      .map((d) => d.toJS() as unknown)
      .filter(Boolean);
    expect(docs.length).toBe(out.objects.length);
    for (const f of out.files) expect(text).toContain(`# ${f.name}\n`);
  });

  test('does not change when files, objects or keys come in another order', () => {
    const shuffled = [...out.files]
      .reverse()
      .map((f) => ({ name: f.name, objects: [...f.objects].reverse().map((o) => Object.fromEntries(Object.entries(o).reverse()) as typeof o) }));
    expect(snapshot(shuffled)).toBe(snapshot(out.files));
  });

  test('changes when a value does, and keeps array order (container order means something)', () => {
    const changed = JSON.parse(JSON.stringify(out.files)) as typeof out.files;
    (changed[0].objects[0].metadata.labels ??= {})['team'] = 'a';
    expect(snapshot(changed)).not.toBe(snapshot(out.files));
    const [o] = stableObjects([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { b: '1', a: '2' }, list: ['z', 'a'] }]);
    expect(Object.keys(o.data as object)).toEqual(['a', 'b']);
    expect(o.list).toEqual(['z', 'a']);
  });
});
