/* `npm run synth`: the team's GitOps output in dist/team-prod/, through the blueprint's schema and policy gates. */
import { writeSynth } from 'mlops-blueprint/synth';
import { teamProd } from './environments/team-prod';
import { extensions } from './constructs/team-ingress';

const out = process.env.CDK8S_OUTDIR || 'dist';
const { written, rendered } = writeSynth([teamProd], out, { extensions });
for (const r of rendered) process.stdout.write(`${r.env.name}: ${r.files.reduce((n, f) => n + f.objects.length, 0)} objects in ${r.files.length} files\n`);
for (const f of written) process.stdout.write(`  ${f}\n`);
