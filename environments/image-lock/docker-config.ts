import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Credentials } from './registry-client';
import { ownValue } from '../../core/records';

/*
 * Registry logins from Docker's client configuration (`$DOCKER_CONFIG/config.json`, default
 * ~/.docker/config.json), as `docker login` (and `aws ecr get-login-password | docker login …`) writes
 * them: `auths.<host>.auth` = base64("user:password"), or `username`/`password`. Credential helpers
 * (`credsStore`, `credHelpers`) are programs this tool does not run; a registry they hold is anonymous.
 */

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>;
}

/** Docker keeps Docker Hub's login under its v1 index URL. */
const ALIASES: Record<string, string[]> = { 'docker.io': ['https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io'] };

export function dockerConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.DOCKER_CONFIG || path.join(os.homedir(), '.docker'), 'config.json');
}

/** A lookup of the logins in a Docker config file; no file means no logins. A malformed file is an error. */
export function dockerConfigCredentials(file = dockerConfigFile()): (registry: string) => Credentials | undefined {
  let config: DockerConfig = {};
  try {
    config = JSON.parse(fs.readFileSync(file, 'utf8')) as DockerConfig;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file}: cannot read the Docker config (${(err as Error).message.split('\n')[0]})`);
  }
  const auths = config.auths ?? {};
  return (registry) => {
    for (const key of [registry, `https://${registry}`, ...(ALIASES[registry] ?? [])]) {
      const entry = ownValue(auths, key);
      if (!entry) continue;
      if (entry.username && entry.password) return { username: entry.username, password: entry.password };
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
      }
    }
    return undefined;
  };
}
