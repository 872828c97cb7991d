import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';

export interface ImageRepositoriesArgs {
  /** Repository names, e.g. `mlops-blueprint/tracking`. */
  names: string[];
  /** Untagged images kept before expiry. Default: 14 days. */
  untaggedExpiryDays?: number;
}

/** ECR repositories for the runtime images: immutable tags (a tag is a release), scan on push, KMS encryption. */
export class ImageRepositories extends pulumi.ComponentResource {
  readonly repositories: Record<string, aws.ecr.Repository> = {};
  readonly urls: Record<string, pulumi.Output<string>> = {};

  constructor(name: string, args: ImageRepositoriesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mlops:aws:ImageRepositories', name, {}, opts);
    for (const repoName of args.names) {
      const id = `${name}-${repoName.replace(/[^a-z0-9-]+/g, '-')}`;
      const repo = new aws.ecr.Repository(
        id,
        {
          name: repoName,
          imageTagMutability: 'IMMUTABLE',
          imageScanningConfiguration: { scanOnPush: true },
          encryptionConfigurations: [{ encryptionType: 'KMS' }],
          forceDelete: false,
        },
        { parent: this },
      );
      new aws.ecr.LifecyclePolicy(
        id,
        {
          repository: repo.name,
          policy: JSON.stringify({
            rules: [
              {
                rulePriority: 1,
                description: 'expire untagged images',
                selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: args.untaggedExpiryDays ?? 14 },
                action: { type: 'expire' },
              },
            ],
          }),
        },
        { parent: this },
      );
      this.repositories[repoName] = repo;
      this.urls[repoName] = repo.repositoryUrl;
    }
    this.registerOutputs({ urls: this.urls });
  }
}
