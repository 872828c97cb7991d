import * as pulumi from '@pulumi/pulumi';
// The mocks first: the program registers its resources when it is imported.
import { registered } from './mocks';
import * as program from '../stacks/index';

/* The team's Pulumi program under the engine's mocks: what it would deploy, and the outputs it reports. */
const valueOf = <T>(o: pulumi.Input<T>): Promise<T> => new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));

test('deploys the team environment with the team Ingress and reports its URLs', async () => {
  expect(await valueOf(program.trackingUrl)).toBe('http://mlflow.team.127.0.0.1.nip.io');
  expect(await valueOf(program.inferenceUrls)).toEqual({
    'churn-predictor': 'http://models.team.127.0.0.1.nip.io/churn-predictor',
    'fraud-detector': 'http://models.team.127.0.0.1.nip.io/fraud-detector',
  });
  expect(await valueOf(program.adminUser)).toBe('team-admin');
  // ConfigGroups register their objects asynchronously: wait until the team part's Ingress shows up.
  const ingresses = () =>
    registered.filter((r) => r.type === 'kubernetes:networking.k8s.io/v1:Ingress').map((r) => (r.inputs.metadata as { name: string }).name);
  for (let i = 0; i < 400 && !ingresses().includes('team-tracking'); i++) await new Promise((r) => setTimeout(r, 25));
  expect(ingresses()).toEqual(expect.arrayContaining(['team-tracking', 'tracking']));
  expect(registered.filter((r) => r.type === 'mlops:k8s:Platform').map((r) => r.name)).toEqual(['platform']);
});
