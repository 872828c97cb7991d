import { requiredSecrets, PLATFORM_SECRETS } from '../../constructs/secrets';
import { loadEnvironment } from '../../environments';
import { defineStack } from '../../stacks/program';
import { installMocks, ofType, settle, unwrapSecrets, valueOf } from './mocks';

/** Every dev Secret's values, as an operator would put them in `mlops:credentials`. */
function devCredentials(): Record<string, Record<string, string>> {
  const env = loadEnvironment('dev');
  return Object.fromEntries(requiredSecrets(env).map((id) => [id, Object.fromEntries(PLATFORM_SECRETS[id].keys.map((k) => [k, `${id}-${k}-value`]))]));
}

const recorded = installMocks('dev', { 'mlops:credentialSource': 'config', 'mlops:credentials': JSON.stringify(devCredentials()) }, ['mlops:credentials']);

describe('dev stack with mlops:credentialSource "config"', () => {
  const result = defineStack('dev');

  test('nothing is generated: no @pulumi/random resource, so its provider is never needed', async () => {
    await settle(recorded);
    expect(recorded.filter((r) => r.type.startsWith('random:'))).toEqual([]);
  });

  test('each Secret carries exactly the supplied values, as a secret', async () => {
    await settle(recorded);
    const secrets = ofType(recorded, 'kubernetes:core/v1:Secret');
    const supplied = devCredentials();
    expect(secrets.map((s) => s.name).sort()).toEqual(result.credentials.secrets.map((s) => `${s.namespace}/${s.name}`).sort());
    for (const s of result.credentials.secrets) {
      const r = secrets.find((x) => x.name === `${s.namespace}/${s.name}`)!;
      expect(unwrapSecrets(r.inputs).stringData).toEqual(supplied[s.id]);
    }
    expect(await valueOf(result.outputs.adminPassword!)).toBe(supplied.trackingAdmin.password);
  });
});
