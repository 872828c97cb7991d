import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, NoSuchKey, S3Client, type ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import { MlflowError } from '../http/errors';
import type { ArtifactFileInfo, ArtifactRepository } from './repository';
import { trimTrailingSlashes } from '../../slashes';

/** The S3 client MLflow's environment describes: MLFLOW_S3_ENDPOINT_URL (MinIO, s3rver) with path-style addressing. */
export function s3ClientFromEnv(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = env.MLFLOW_S3_ENDPOINT_URL || undefined;
  return new S3Client({
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    // Explicit keys when given; otherwise the SDK's default chain (IRSA web identity, instance profile…).
    ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN } }
      : {}),
  });
}

/**
 * Artifacts under `s3://bucket/prefix`; uploads are multipart-streamed by lib-storage's Upload. Paths
 * arrive checked by safeArtifactPath (no `.`/`..`/empty segments), so every key is `<prefix>/<path>`
 * and a directory is always matched as `<key>/`, on a segment boundary.
 */
export class S3ArtifactRepository implements ArtifactRepository {
  readonly bucket: string;
  readonly prefix: string;

  constructor(
    readonly rootUri: string,
    private readonly client: S3Client = s3ClientFromEnv(),
  ) {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(rootUri);
    if (!m) throw new Error(`invalid S3 URI ${rootUri}: expected s3://bucket[/prefix]`);
    this.bucket = m[1];
    this.prefix = trimTrailingSlashes(m[2]);
  }

  close(): void {
    this.client.destroy();
  }

  private key(rel: string): string {
    return [this.prefix, rel].filter(Boolean).join('/');
  }

  async put(rel: string, body: Readable): Promise<void> {
    if (rel === '') throw MlflowError.invalid('An artifact path is required to upload a file.');
    await new Upload({ client: this.client, params: { Bucket: this.bucket, Key: this.key(rel), Body: body } }).done();
  }

  async get(rel: string): Promise<{ body: Readable; size?: number }> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(rel) }));
      return { body: out.Body as Readable, size: out.ContentLength };
    } catch (err) {
      if (
        err instanceof NoSuchKey ||
        (err as { name?: string }).name === 'NoSuchKey' ||
        (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
      ) {
        throw MlflowError.notFound(`Artifact '${rel}' does not exist.`);
      }
      throw err;
    }
  }

  async list(rel: string): Promise<ArtifactFileInfo[]> {
    const dirPrefix = this.key(rel) ? `${this.key(rel)}/` : '';
    const out: ArtifactFileInfo[] = [];
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: dirPrefix, Delimiter: '/', ContinuationToken: token }),
      );
      for (const p of page.CommonPrefixes ?? []) {
        // The SDK types every field optional; S3 always sends Prefix and Key, so one missing is skipped.
        if (p.Prefix === undefined) continue;
        const name = p.Prefix.slice(dirPrefix.length).replace(/\/$/, '');
        out.push({ path: rel ? `${rel}/${name}` : name, is_dir: true });
      }
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        const name = o.Key.slice(dirPrefix.length);
        if (name === '') continue;
        out.push({ path: rel ? `${rel}/${name}` : name, is_dir: false, file_size: o.Size });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => a.path.localeCompare(b.path));
  }

  async delete(rel: string): Promise<void> {
    // An empty path would be the whole prefix (or bucket): never deleted through the API.
    if (rel === '') throw MlflowError.invalid('An artifact path is required: the root of the artifact store cannot be deleted.');
    const key = this.key(rel);
    // A file, or everything under it as a directory.
    const keys: string[] = [key];
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: key ? `${key}/` : '', ContinuationToken: token }),
      );
      keys.push(...(page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [o.Key])));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    for (let i = 0; i < keys.length; i += 1000) {
      await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }),
      );
    }
  }
}
