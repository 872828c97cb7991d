import type { KubeRule } from '../rule';
import { asRecord } from '../../core/kube-objects';

/** The Job spec of a Job or of a CronJob's template, with its path. */
function jobSpec(obj: Parameters<KubeRule['check']>[0]): { path: string; spec: Record<string, unknown> } | undefined {
  if (obj.kind === 'Job') return { path: 'spec', spec: asRecord(obj.spec) };
  if (obj.kind === 'CronJob') return { path: 'spec.jobTemplate.spec', spec: asRecord(asRecord(asRecord(obj.spec).jobTemplate).spec) };
  return undefined;
}

export const jobRules: KubeRule[] = [
  {
    id: 'job-ttl',
    severity: 'error',
    description: 'Jobs set ttlSecondsAfterFinished',
    remediation: 'Set ttlSecondsAfterFinished so finished Jobs and their pods are cleaned up.',
    check: (obj) => {
      const j = jobSpec(obj);
      return j && typeof j.spec.ttlSecondsAfterFinished !== 'number'
        ? [{ field: `${j.path}.ttlSecondsAfterFinished`, message: 'Job has no ttlSecondsAfterFinished' }]
        : [];
    },
  },
  {
    id: 'job-backoff-limit',
    severity: 'error',
    description: 'Jobs set backoffLimit explicitly',
    remediation: 'Set backoffLimit to the number of retries the Job may make.',
    check: (obj) => {
      const j = jobSpec(obj);
      return j && typeof j.spec.backoffLimit !== 'number' ? [{ field: `${j.path}.backoffLimit`, message: 'Job has no explicit backoffLimit' }] : [];
    },
  },
  {
    id: 'cronjob-deadline',
    severity: 'error',
    description: 'CronJobs set startingDeadlineSeconds',
    remediation: 'Set startingDeadlineSeconds so missed runs do not pile up after an outage.',
    check: (obj) =>
      obj.kind === 'CronJob' && typeof asRecord(obj.spec).startingDeadlineSeconds !== 'number'
        ? [{ field: 'spec.startingDeadlineSeconds', message: 'CronJob has no startingDeadlineSeconds' }]
        : [],
  },
];
