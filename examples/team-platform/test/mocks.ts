import * as pulumi from '@pulumi/pulumi';

/*
 * The Pulumi engine replaced by mocks (no cluster, no cloud), before the program is imported: every
 * resource it registers is recorded, and its outputs are its inputs (random values made up).
 */
export const registered: Array<{ type: string; name: string; inputs: Record<string, unknown> }> = [];

pulumi.runtime.setAllConfig({ 'mlops:adminUser': 'team-admin' });
void pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs });
      const generated = args.type.startsWith('random:') ? { result: 'x'.repeat(Number(args.inputs.length ?? 16)), bcryptHash: `$2a$10$${'m'.repeat(53)}` } : {};
      return { id: `${args.name}-id`, state: { ...args.inputs, ...generated } };
    },
    call: (args) => args.inputs,
  },
  'team-platform',
  'team-prod',
  false,
);
