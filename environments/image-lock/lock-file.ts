import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { parseImageReference, SHA256_DIGEST } from './reference';

/*
 * The image lock: `repository:tag` as the environments write it → the `sha256:` digest that tag resolved
 * to when `mlops images lock` last asked the registry. `mlops synth` and the Pulumi program render each
 * locked image as `repository:tag@sha256:…`, so what runs is what was locked even if the tag moves.
 */

export const LOCKFILE_VERSION = 1;

export interface ImageLock {
  /** Free text kept across refreshes (why the lock holds what it holds). */
  comment?: string;
  /** `repository:tag` → `sha256:<64 hex>`. */
  images: Record<string, string>;
}

const lockSchema = z
  .object({
    lockfileVersion: z.literal(LOCKFILE_VERSION),
    comment: z.string().optional(),
    images: z.record(
      z.string().superRefine((name, ctx) => {
        try {
          const r = parseImageReference(name);
          if (r.digest || !r.tag) ctx.addIssue({ code: 'custom', message: `"${name}": keys are repository:tag, without a digest` });
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      }),
      z.string().regex(SHA256_DIGEST, 'must be sha256:<64 hex digits>'),
    ),
  })
  .strict();

/** The repository's own lock, next to the environments (found from this module, whatever the working directory). */
export const DEFAULT_IMAGE_LOCK = path.join(packageRoot(), 'environments', 'images.lock.json');

function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** Reads a lock file. A missing file is an empty lock only when `missingOk` (the default lock); otherwise an error. */
export function readImageLock(file: string, opts: { missingOk?: boolean } = {}): ImageLock {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && opts.missingOk) return { images: {} };
    throw new Error(`image lock ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`image lock ${file}: not JSON (${(err as Error).message})`);
  }
  const result = lockSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`image lock ${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return { comment: result.data.comment, images: result.data.images };
}

/** The file's text: keys sorted, so a refresh diff shows only what moved. */
export function formatImageLock(lock: ImageLock): string {
  const images = Object.fromEntries(Object.entries(lock.images).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return `${JSON.stringify({ lockfileVersion: LOCKFILE_VERSION, ...(lock.comment ? { comment: lock.comment } : {}), images }, null, 2)}\n`;
}

/** Writes the lock through a temporary file and a rename: a reader never sees half a lock. */
export function writeImageLock(file: string, lock: ImageLock): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, formatImageLock(lock));
  fs.renameSync(tmp, file);
}
