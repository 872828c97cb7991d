import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';

/** A Kubernetes ServiceAccount, as IRSA trust names it. */
export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

/** `system:serviceaccount:<namespace>:<name>`: the `sub` claim of the ServiceAccount's projected token. */
export function serviceAccountSubject(sa: ServiceAccountRef): string {
  return `system:serviceaccount:${sa.namespace}:${sa.name}`;
}

/** One IAM policy statement (JSON shape); Outputs are allowed anywhere a string is. */
export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: pulumi.Input<string> | pulumi.Input<string>[];
  Condition?: Record<string, Record<string, pulumi.Input<string> | pulumi.Input<string>[]>>;
}

export interface ServiceAccountRoleArgs {
  /** ARN of the cluster's IAM OIDC provider. */
  oidcProviderArn: pulumi.Input<string>;
  /** Issuer URL of the cluster (`https://oidc.eks.<region>.amazonaws.com/id/<id>`); the scheme is dropped. */
  oidcIssuerUrl: pulumi.Input<string>;
  /** The ServiceAccounts allowed to assume the role; each is named exactly (no wildcards). */
  serviceAccounts: ServiceAccountRef[];
  /** Permissions, as an inline policy. Default: none (a role that only managed policies grant). */
  statements?: Statement[];
  /** AWS managed policies to attach (e.g. the EBS CSI driver's). Default: none. */
  managedPolicyArns?: string[];
  /** Role description. */
  description?: string;
}

/**
 * IAM role for ServiceAccounts (IRSA): trusted only through the cluster's OIDC provider, only for the
 * listed ServiceAccounts (`<issuer>:sub` StringEquals each `system:serviceaccount:<ns>:<name>`) and only
 * for the STS audience.
 */
export class ServiceAccountRole extends pulumi.ComponentResource {
  readonly role: aws.iam.Role;
  readonly arn: pulumi.Output<string>;
  readonly subjects: string[];

  constructor(name: string, args: ServiceAccountRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mlops:aws:ServiceAccountRole', name, {}, opts);
    if (args.serviceAccounts.length === 0) throw new Error(`IRSA role "${name}" needs at least one ServiceAccount`);
    for (const sa of args.serviceAccounts) {
      if (!sa.namespace || !sa.name || /[:*]/.test(sa.namespace + sa.name))
        throw new Error(`IRSA role "${name}": ServiceAccount "${sa.namespace}/${sa.name}" must be an exact namespace and name`);
    }
    this.subjects = [...new Set(args.serviceAccounts.map(serviceAccountSubject))].sort();
    const issuer = pulumi.output(args.oidcIssuerUrl).apply((url) => url.replace(/^https:\/\//, ''));
    const assumeRolePolicy = pulumi.jsonStringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: args.oidcProviderArn },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: issuer.apply((host) => ({
              [`${host}:sub`]: this.subjects.length === 1 ? this.subjects[0] : this.subjects,
              [`${host}:aud`]: 'sts.amazonaws.com',
            })),
          },
        },
      ],
    });
    this.role = new aws.iam.Role(
      name,
      { assumeRolePolicy, description: args.description ?? `IRSA for ${this.subjects.join(', ')}`, maxSessionDuration: 3600 },
      { parent: this },
    );
    if (args.statements?.length) {
      new aws.iam.RolePolicy(
        name,
        { role: this.role.id, policy: pulumi.jsonStringify({ Version: '2012-10-17', Statement: args.statements }) },
        { parent: this },
      );
    }
    for (const [i, policyArn] of (args.managedPolicyArns ?? []).entries()) {
      new aws.iam.RolePolicyAttachment(`${name}-${i}`, { role: this.role.name, policyArn }, { parent: this });
    }
    this.arn = this.role.arn;
    this.registerOutputs({ arn: this.arn });
  }
}
