import { createHmac, randomBytes } from 'node:crypto';
import { verifyPassword } from './passwords';
import type { AuthStore, UserRow } from './store';

/**
 * HTTP Basic verification without paying the KDF on every request.
 *
 * A successful check is remembered under HMAC-SHA256(per-process random key, username NUL password):
 * the cache never holds a password or anything an attacker could brute-force offline without the
 * key. Each entry also records the password hash it was verified against, and every request still
 * reads the user's row (one indexed lookup) — so a password changed or a user deleted on any replica
 * stops the old credentials at once, not after the TTL. The TTL and size bound only memory.
 */
export interface CredentialCacheOptions {
  /** How long a verified credential is trusted without re-running the KDF. Default 15 minutes. */
  ttlMs?: number;
  /** Most entries kept; the oldest is evicted first. Default 10000. */
  maxEntries?: number;
}

interface Entry {
  username: string;
  passwordHash: string;
  expiresAt: number;
}

/** A hash of a random password: unknown usernames pay the same KDF as known ones (no timing oracle for which users exist). */
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

export class CredentialVerifier {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  /** KDF runs, for tests and metrics: a warm cache must not add to it. */
  kdfRuns = 0;

  constructor(
    private readonly store: AuthStore,
    options: CredentialCacheOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 15 * 60_000;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  private cacheKey(username: string, password: string): string {
    return createHmac('sha256', this.key).update(username).update('\0').update(password).digest('base64');
  }

  /** The user these credentials belong to, or undefined when they are wrong (or the user is gone). */
  async verify(username: string, password: string): Promise<UserRow | undefined> {
    const user = await this.store.findUser(username);
    const key = this.cacheKey(username, password);
    const hit = this.entries.get(key);
    if (user && hit && hit.expiresAt > Date.now() && hit.passwordHash === user.password_hash) return user;
    if (hit) this.entries.delete(key);
    this.kdfRuns++;
    const ok = await verifyPassword(password, user?.password_hash ?? DUMMY_HASH);
    if (!ok || !user) return undefined;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { username, passwordHash: user.password_hash, expiresAt: Date.now() + this.ttlMs });
    return user;
  }

  /** Drops every cached credential of a user (password change, deletion) on this replica. */
  forget(username: string): void {
    for (const [key, entry] of this.entries) if (entry.username === username) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Parses `Authorization: Basic base64(username:password)`; undefined when absent or malformed. */
export function parseBasicAuth(header: string | undefined): { username: string; password: string } | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
