import type { KubeObject } from '../../policies/types';
import { asArray, asRecord } from '../../policies/rule';
import { containers, LONG_RUNNING_KINDS, mapSelectorMatches, podTemplate, stringMap } from '../../policies/kube/workloads';
import { TRACKING_MIGRATE_NAME } from '../../constructs/tracking';
import { TRACKING_NAME } from '../../constructs/common';

/**
 * What makes start-up order hold without luck: kwok runs every pod at once and "completes" Jobs in a second,
 * so the order must be carried by the objects. The tracking server refuses to start on a schema that is not
 * current (runtime/tracking/server.ts, unless `--upgrade-db`), so it cannot serve before its migration Job has
 * run against the same database; Jobs retry while what they need starts; long-running containers receive
 * traffic only once ready. Returns one line per object that breaks this.
 */
export function startupOrderProblems(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  const args = (o: KubeObject | undefined) => (o ? asArray(asRecord(containers(podTemplate(o)!)[0]?.container).args).map(String) : []);
  const image = (o: KubeObject | undefined) => (o ? String(containers(podTemplate(o)!)[0]?.container.image) : '');
  const flag = (a: string[], f: string) => (a.includes(f) ? a[a.indexOf(f) + 1] : undefined);

  const server = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === TRACKING_NAME);
  const migration = objects.find((o) => o.kind === 'Job' && o.metadata.name.startsWith(`${TRACKING_MIGRATE_NAME}-`));
  if (!server || !migration)
    return [`the output needs the tracking Deployment and its ${TRACKING_MIGRATE_NAME} Job (found: ${[server, migration].filter(Boolean).length})`];
  const serve = args(server);
  if (serve.includes('--upgrade-db')) problems.push('tracking serve --upgrade-db: replicas would race each other (and the Job) on the schema');
  if (!/^postgresql:\/\//.test(flag(serve, '--backend-store-uri') ?? ''))
    problems.push('tracking: a shared PostgreSQL store is what makes it refuse an old schema (SQLite migrates at start)');
  if (flag(args(migration), '--backend-store-uri') !== flag(serve, '--backend-store-uri'))
    problems.push('the migration Job migrates another database than the server reads');
  if (image(migration) !== image(server))
    problems.push(`the migration Job runs ${image(migration)}, the server ${image(server)}: the schema must be the server's release`);
  if (args(migration).slice(0, 3).join(' ') !== 'tracking db upgrade') problems.push('the migration Job does not run `mlops tracking db upgrade`');

  for (const o of objects) {
    if (o.kind === 'Job' && Number(asRecord(o.spec).backoffLimit ?? 6) < 1)
      problems.push(`Job/${o.metadata.name}: backoffLimit 0 cannot wait for what it needs to start`);
    if (!LONG_RUNNING_KINDS.has(o.kind)) continue;
    const tpl = podTemplate(o)!;
    const behindService = objects.some(
      (s) => s.kind === 'Service' && s.metadata.namespace === tpl.namespace && mapSelectorMatches(stringMap(asRecord(s.spec).selector), tpl.labels),
    );
    if (!behindService) continue;
    for (const c of containers(tpl).filter((x) => !x.init)) {
      if (!c.container.readinessProbe)
        problems.push(`${o.kind}/${o.metadata.name} container ${String(c.container.name)}: no readinessProbe, so traffic arrives before it can serve`);
    }
  }
  return problems;
}
