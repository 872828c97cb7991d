import * as path from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../../core/errors';
import type { EnvironmentConfig } from '../schema';
import { ownValue } from '../../core/records';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `registry=url` pairs (`*=url` for every registry). */
export function parseMirrors(values: readonly string[]): Record<string, string> {
  const mirrors: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new CliError(`--mirror must be <registry>=<url> (or *=<url>), got "${v}"`);
    const url = v.slice(eq + 1);
    if (!/^https?:\/\/[^/]+/.test(url)) throw new CliError(`--mirror ${v.slice(0, eq)}: "${url}" is not an http(s) URL`);
    mirrors[v.slice(0, eq)] = url;
  }
  return mirrors;
}

async function environmentsFor(arg: string): Promise<EnvironmentConfig[]> {
  const { ENVIRONMENT_NAMES, loadEnvironment, resolveEnvironment } = await import('../index');
  try {
    return arg === 'all' ? ENVIRONMENT_NAMES.map((n) => loadEnvironment(n)) : [resolveEnvironment(arg)];
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CliError(
      e.code === 'ENOENT'
        ? `--env: "${arg}" is neither ${ENVIRONMENT_NAMES.join(', ')}, all, nor a readable environment file`
        : `--env: ${e.message.split('\n').join('; ')}`,
    );
  }
}

interface LockOptions {
  env: string;
  lock: string;
  mirror: string[];
  prune?: boolean;
}

/** Resolves every tag-only image of the environments and rewrites the lock; any failure leaves the lock as it was. */
async function lockAction(opts: LockOptions): Promise<void> {
  const { environmentImages } = await import('./pin');
  const { readImageLock, writeImageLock } = await import('./lock-file');
  const { RegistryClient, RegistryError } = await import('./registry-client');
  const { dockerConfigCredentials } = await import('./docker-config');
  const { parseImageReference } = await import('./reference');
  const envs = await environmentsFor(opts.env);
  const file = path.resolve(opts.lock);
  let lock;
  let client;
  try {
    lock = readImageLock(file, { missingOk: true });
    client = new RegistryClient({ mirrors: parseMirrors(opts.mirror), credentials: dockerConfigCredentials() });
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError((err as Error).message);
  }
  const names = [...new Set(envs.flatMap((e) => environmentImages(e).map((u) => u.image)))].filter((n) => !parseImageReference(n).digest).sort();
  const resolved = new Map<string, string>();
  const failures: string[] = [];
  for (const name of names) {
    try {
      resolved.set(name, (await client.resolve(name)).digest);
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
      failures.push(err.message);
    }
  }
  if (failures.length) {
    process.stderr.write(`${failures.map((f) => `  ${f}`).join('\n')}\n`);
    throw new CliError(`${failures.length} of ${names.length} image(s) could not be resolved; ${file} was not changed`);
  }
  const images = opts.prune ? {} : { ...lock.images };
  for (const [name, digest] of resolved) {
    const before = ownValue(lock.images, name);
    process.stdout.write(`${before === undefined ? 'added    ' : before === digest ? 'unchanged' : 'changed  '}  ${name}  ${digest}\n`);
    images[name] = digest;
  }
  writeImageLock(file, { comment: lock.comment, images });
  process.stdout.write(
    `${resolved.size} image(s) locked in ${file}${opts.prune ? ` (${Object.keys(lock.images).filter((k) => !resolved.has(k)).length} unused entries pruned)` : ''}\n`,
  );
}

/** `mlops images list`: every image of the environments and what pins it (inline, the lock, or nothing). */
async function listAction(opts: { env: string; lock: string }): Promise<void> {
  const { environmentImages } = await import('./pin');
  const { readImageLock } = await import('./lock-file');
  const { parseImageReference } = await import('./reference');
  let lock;
  try {
    lock = readImageLock(path.resolve(opts.lock), { missingOk: true });
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  for (const env of await environmentsFor(opts.env)) {
    for (const u of environmentImages(env)) {
      const pin = parseImageReference(u.image).digest
        ? 'inline'
        : lock.images[u.image]
          ? `lock ${lock.images[u.image]}`
          : env.images.requireDigests
            ? 'UNPINNED (required: synth refuses)'
            : 'unpinned';
      process.stdout.write(`${env.name}\t${u.field}\t${u.image}\t${pin}\n`);
    }
  }
}

/** `mlops images lock|list`: pin the environments' images by digest. */
export function registerImagesCommands(program: Command): void {
  const defaultLock = async (): Promise<string> => (await import('./lock-file')).DEFAULT_IMAGE_LOCK;
  const images = program.command('images').description("pin the environments' container images by digest (the image lock)");
  images
    .command('lock')
    .description(
      'resolve each repository:tag the environments use to its digest (OCI distribution API) and write the image lock; nothing is written if any fails',
    )
    .option('--env <env>', 'dev, staging, prod, all, or a YAML/JSON environment file', 'all')
    .option('--lock <file>', 'image lock file (default: environments/images.lock.json of this checkout)')
    .option('--mirror <registry=url>', 'reach a registry (or * for all) at another URL, e.g. a pull-through mirror; repeatable', collect, [])
    .option('--prune', 'drop entries no selected environment uses')
    .action(async (opts: Omit<LockOptions, 'lock'> & { lock?: string }) => lockAction({ ...opts, lock: opts.lock ?? (await defaultLock()) }));
  images
    .command('list')
    .description('list the images of the environments and whether each is pinned (inline, by the lock, or not)')
    .option('--env <env>', 'dev, staging, prod, all, or a YAML/JSON environment file', 'all')
    .option('--lock <file>', 'image lock file (default: environments/images.lock.json of this checkout)')
    .action(async (opts: { env: string; lock?: string }) => listAction({ env: opts.env, lock: opts.lock ?? (await defaultLock()) }));
}
