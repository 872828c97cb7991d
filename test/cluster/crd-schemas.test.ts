import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describeWithTool } from '../helpers/tools';
import { cacheAvailability, crdDir } from './cache';

type Crd = { metadata: { name: string }; spec: { versions: Array<{ name: string; served: boolean; storage: boolean; schema: { openAPIV3Schema: unknown } }> } };

function crds(set: string): Crd[] {
  const dir = crdDir(set);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJSON() as Partial<Crd> | null))
    .filter((d): d is Crd => d?.spec?.versions !== undefined);
}

describeWithTool('upstream CRD facts the synth-time schema check relies on', cacheAvailability([], true), () => {
  test('external-secrets: v1 is served and stored, with the same schema as v1beta1 (synth checks v1 with the v1beta1 model)', () => {
    for (const name of ['externalsecrets.external-secrets.io', 'clustersecretstores.external-secrets.io']) {
      const crd = crds('external-secrets').find((c) => c.metadata.name === name)!;
      const v1 = crd.spec.versions.find((v) => v.name === 'v1')!;
      const v1beta1 = crd.spec.versions.find((v) => v.name === 'v1beta1')!;
      expect({ name, served: v1.served, storage: v1.storage }).toEqual({ name, served: true, storage: true });
      expect(v1.schema.openAPIV3Schema).toEqual(v1beta1.schema.openAPIV3Schema);
    }
  });
});
