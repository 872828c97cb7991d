import { POLICY_CLEAN, policyReport } from '../../api/testing';
import { environmentVariants, platformSynth } from '../../policies/platform';
import { pinnedForTest } from '../helpers/image-lock';

/*
 * The platform's synthesized output must pass its own policies: zero error-level violations (without
 * exceptions) for every environment in both secrets modes. Fails until stacks/gitops.ts exists.
 */
describe('the synthesized platform passes the policies', () => {
  test('environment variants cover every built-in environment in both secrets modes', () => {
    const labels = environmentVariants().map((v) => v.label);
    expect(labels).toEqual(
      expect.arrayContaining(['dev (secrets: pulumi)', 'dev (secrets: external-secrets)', 'prod (secrets: pulumi)', 'staging (secrets: external-secrets)']),
    );
  });

  // Pinned as synth pins them (staging and prod require digests), with the loopback registry's test digests.
  test.each(environmentVariants().map((v) => [v.label, pinnedForTest(v.env)] as const))('%s: no error-level violation', (_label, env) => {
    const synth = platformSynth();
    expect(synth).toBeDefined();
    const objects = synth!(env).flatMap((f) => f.objects);
    expect(objects.length).toBeGreaterThan(0);
    // The check teams run on their own output (the `testing` entry), applied here to ours.
    expect(policyReport(objects, env)).toBe(POLICY_CLEAN);
  });
});
