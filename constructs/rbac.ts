import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../environments';
import { k8s, standardLabels } from './common';

/** One rule of a Role: exact API groups, resources and verbs (never `*`). */
export interface RoleRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/** Which namespace of the environment a role is granted in. */
export type NamespaceRole = 'platform' | 'training' | 'serving';

/** A platform role: its rules per namespace (a namespace without rules gets no Role). */
export interface PlatformRoleDefinition {
  readonly name: string;
  readonly description: string;
  /** The environment's `rbac.groups` entry bound to it. */
  readonly groups: keyof EnvironmentConfig['rbac']['groups'];
  readonly rules: Partial<Record<NamespaceRole, readonly RoleRule[]>>;
}

const READ = ['get', 'list', 'watch'] as const;
const core = (resources: string[], verbs: readonly string[] = READ): RoleRule => ({ apiGroups: [''], resources, verbs });
const apps = (resources: string[], verbs: readonly string[] = READ): RoleRule => ({ apiGroups: ['apps'], resources, verbs });
const batch = (resources: string[], verbs: readonly string[] = READ): RoleRule => ({ apiGroups: ['batch'], resources, verbs });
const autoscaling = (verbs: readonly string[] = READ): RoleRule => ({ apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs });

/** Reading what runs: pods, their logs and events, Services, ConfigMaps. Never Secrets, never exec/attach/port-forward. */
const observe: RoleRule[] = [core(['pods', 'pods/log', 'services', 'configmaps', 'events', 'endpoints'])];

/**
 * The platform's three roles, least privilege. Nobody reads Secrets through these roles (credentials
 * reach pods by reference), no role has exec/attach/port-forward, and nothing is a wildcard.
 *
 * - `ml-engineer` (seed 000's role, minus Kubeflow CRDs this platform does not install): runs and
 *   cleans up training Jobs, adjusts serving (scale, HPA bounds, rollout restarts), reads the platform.
 * - `data-scientist`: launches and watches training Jobs (also from the retraining CronJob), reads
 *   serving; no write access to serving or the platform.
 * - `deployer` (CI): rolls out new images/configuration of existing Deployments, Jobs and CronJobs in
 *   all three namespaces (the tracking migration Job in the platform one), and watches rollouts;
 *   cannot read Secrets, create Deployments or change RBAC.
 */
export const PLATFORM_ROLES: readonly PlatformRoleDefinition[] = [
  {
    name: 'ml-engineer',
    description: 'Runs training Jobs, operates serving (scale, rollout restart, HPA bounds), reads the platform namespace.',
    groups: 'mlEngineers',
    rules: {
      platform: [...observe, apps(['deployments', 'statefulsets', 'replicasets']), batch(['jobs', 'cronjobs'])],
      training: [...observe, batch(['jobs'], [...READ, 'create', 'delete']), batch(['cronjobs'], [...READ, 'patch']), core(['pods'], ['delete'])],
      serving: [
        ...observe,
        apps(['deployments'], [...READ, 'patch']),
        apps(['deployments/scale'], ['get', 'patch']),
        apps(['replicasets']),
        autoscaling([...READ, 'patch']),
      ],
    },
  },
  {
    name: 'data-scientist',
    description: 'Launches and watches training Jobs; reads serving.',
    groups: 'dataScientists',
    rules: {
      training: [...observe, batch(['jobs'], [...READ, 'create', 'delete']), batch(['cronjobs'])],
      serving: [...observe, apps(['deployments', 'replicasets']), autoscaling()],
    },
  },
  {
    name: 'deployer',
    description: 'CI: patches Deployments, Jobs and CronJobs in the platform namespaces and watches rollouts; no Secret access.',
    groups: 'deployers',
    rules: {
      platform: [
        core(['pods', 'events']),
        apps(['deployments'], [...READ, 'patch']),
        apps(['replicasets']),
        batch(['jobs'], [...READ, 'create', 'delete', 'patch']),
      ],
      training: [core(['pods', 'events']), batch(['jobs'], [...READ, 'create', 'delete', 'patch']), batch(['cronjobs'], [...READ, 'patch'])],
      serving: [core(['pods', 'events']), apps(['deployments'], [...READ, 'patch']), apps(['replicasets']), autoscaling()],
    },
  },
];

export interface PlatformRbacProps {
  readonly env: EnvironmentConfig;
  /** Role definitions. @default PLATFORM_ROLES */
  readonly roles?: readonly PlatformRoleDefinition[];
}

/**
 * One Role per platform role and namespace it has rules in, and a RoleBinding to the environment's
 * groups for that role (no binding when the environment names no group: an empty binding grants
 * nothing and only adds noise). Roles are namespaced on purpose: no ClusterRole, so nothing here
 * reaches beyond the platform's three namespaces.
 */
export class PlatformRbac extends Construct {
  /** `<namespace>/<role>` of every Role created. */
  readonly roles: string[] = [];

  constructor(scope: Construct, id: string, props: PlatformRbacProps) {
    super(scope, id);
    const { env } = props;
    for (const role of props.roles ?? PLATFORM_ROLES) {
      validateRole(role);
      const groups = env.rbac.groups[role.groups];
      for (const [which, rules] of Object.entries(role.rules) as Array<[NamespaceRole, readonly RoleRule[]]>) {
        const namespace = env.namespaces[which];
        const labels = standardLabels(env, role.name, 'rbac');
        new k8s.KubeRole(this, `role-${role.name}-${which}`, {
          metadata: { name: role.name, namespace, labels, annotations: { 'mlops-blueprint.io/description': role.description } },
          rules: rules.map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] })),
        });
        this.roles.push(`${namespace}/${role.name}`);
        if (groups.length === 0) continue;
        new k8s.KubeRoleBinding(this, `binding-${role.name}-${which}`, {
          metadata: { name: role.name, namespace, labels },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
          subjects: groups.map((g) => ({ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: g })),
        });
      }
    }
  }
}

/** Rejects wildcards and Secret access in a role definition: both would defeat the point of these roles. */
function validateRole(role: PlatformRoleDefinition): void {
  for (const [which, rules] of Object.entries(role.rules)) {
    for (const r of rules) {
      for (const k of ['apiGroups', 'resources', 'verbs'] as const) {
        if (r[k].includes('*')) throw new Error(`role "${role.name}" (${which}): "*" in ${k} is not allowed; list what the role needs`);
      }
      if (r.resources.includes('secrets'))
        throw new Error(`role "${role.name}" (${which}): platform roles do not read Secrets; pods receive them by reference`);
      const bad = r.resources.filter((res) => ['pods/exec', 'pods/attach', 'pods/portforward'].includes(res));
      if (bad.length) throw new Error(`role "${role.name}" (${which}): ${bad.join(', ')} not allowed`);
    }
  }
}
