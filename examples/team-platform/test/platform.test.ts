import { platformProperties, snapshot, synthesize } from 'mlops-blueprint/testing';
import { teamProd } from '../environments/team-prod';
import { extensions } from '../constructs/team-ingress';

const out = synthesize(teamProd, { extensions });

test('the whole output matches the snapshot', () => {
  expect(snapshot(out.files)).toMatchSnapshot();
});

test('holds the properties the blueprint holds its own output to', () => {
  expect(platformProperties(out.objects, out.env, { extensions })).toEqual({
    networkPolicies: [],
    services: [],
    hpaTargets: [],
    secretData: [],
    podSecurity: [],
    policies: [],
  });
});

test('has the team Ingress in a part of its own, after the built-in parts, and the extra model', () => {
  expect(out.files.at(-1)?.name).toMatch(/^\d\d-team-ingress\.k8s\.yaml$/);
  expect(out.files.at(-1)?.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Ingress/team-tracking']);
  expect(out.facts.endpoints.inference['fraud-detector']).toBe('http://models.team.127.0.0.1.nip.io/fraud-detector');
});
