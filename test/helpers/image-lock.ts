import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ENVIRONMENT_NAMES, loadEnvironment, type EnvironmentConfig } from '../../environments';
import { environmentImages, formatImageLock, pinImages, type ImageLock } from '../../environments/image-lock';
import { syntheticDigest } from './oci-registry';

/*
 * Image locks for tests. The built-in staging and prod environments require digests, and no real digest can
 * be resolved from this machine, so tests pin them with the digests the loopback registry in
 * test/helpers/oci-registry.ts serves for each repository:tag (synthetic manifests: test data, never a real
 * image). test/environments/image-lock.test.ts proves `mlops images lock` against that registry writes
 * exactly this lock.
 */

/** The lock `mlops images lock` writes for these environments' images when the fake registry serves them. */
export function testImageLock(...envs: EnvironmentConfig[]): ImageLock {
  const images: Record<string, string> = {};
  for (const use of envs.flatMap(environmentImages)) if (!use.image.includes('@')) images[use.image] = syntheticDigest(use.image);
  return { images };
}

/** The environment with its images pinned by the test lock (what synth renders with that lock). */
export function pinnedForTest(env: EnvironmentConfig): EnvironmentConfig {
  return pinImages(env, testImageLock(env));
}

/** A built-in environment (with overrides), pinned by the test lock. */
export function pinnedEnvironment(name: string, overrides?: Record<string, unknown>): EnvironmentConfig {
  return pinnedForTest(loadEnvironment(name, overrides));
}

let lockFile: string | undefined;
/** A lock file covering every built-in environment, for commands that read one (`--image-lock`, `mlops:imageLock`). */
export function testImageLockFile(): string {
  if (!lockFile) {
    lockFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-test-lock-')), 'images.lock.json');
    fs.writeFileSync(lockFile, formatImageLock(testImageLock(...ENVIRONMENT_NAMES.map((n) => loadEnvironment(n)))));
  }
  return lockFile;
}
