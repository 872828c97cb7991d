import * as crypto from 'node:crypto';
import { createHash, randomBytes } from 'node:crypto';
import { LoginGuard } from './login-guard';
import { verifyPassword } from './passwords';
import type { AuthStore, UserRow } from './store';

/**
 * HTTP Basic verification without paying the KDF on every request.
 *
 * A successful check is remembered under SHA-256(per-process random key, username, password):
 * the cache never holds a password or anything an attacker could brute-force offline without the
 * key. Each entry also records the password hash it was verified against, and every request compares
 * it with the user's current row (AuthStore.cachedUser: a change through this replica applies at
 * once, one through another replica within the store's read-cache TTL, 1 s by default) — so a
 * changed password or a deleted user stops the old credentials without waiting for this TTL, which
 * only bounds memory and how long a password is trusted without re-running the KDF.
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

/** crypto.hash (Node ≥ 20.12): one call instead of a Hash object per request. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64') => string }).hash;

/** A hash of a random password: unknown usernames pay the same KDF as known ones (no timing oracle for which users exist). */
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

export class CredentialVerifier {
  private readonly keyText = randomBytes(32).toString('base64');
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  /** KDF runs, for tests and metrics: a warm cache must not add to it. */
  kdfRuns = 0;

  constructor(
    private readonly store: AuthStore,
    options: CredentialCacheOptions = {},
    /** Failed-login limits and the bounded KDF queue every cache miss goes through (login-guard.ts). */
    private readonly guard: LoginGuard = new LoginGuard(),
  ) {
    this.ttlMs = options.ttlMs ?? 15 * 60_000;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  private cacheKey(username: string, password: string): string {
    // A secret-prefixed SHA-256 (one-shot crypto.hash where Node has it): the digest never leaves
    // this process, so it only has to be unguessable without the key — and cheap on every request.
    const input = `${this.keyText}\0${username}\0${password}`;
    return oneShotHash ? oneShotHash('sha256', input, 'base64') : createHash('sha256').update(input).digest('base64');
  }

  /**
   * The user these credentials belong to, or undefined when they are wrong (or the user is gone).
   * A cache hit answers at once; a miss runs the KDF under the guard, which may refuse it
   * (LoginRefused: 429 over a failure limit for `address` or the user name, 503 queue full).
   */
  async verify(username: string, password: string, address = 'unknown'): Promise<UserRow | undefined> {
    const user = await this.store.cachedUser(username);
    const key = this.cacheKey(username, password);
    const hit = this.entries.get(key);
    if (user && hit && hit.expiresAt > Date.now() && hit.passwordHash === user.password_hash) return user;
    if (hit) this.entries.delete(key);
    const ok = await this.guard.verify({ username, address, known: user !== undefined }, () => {
      this.kdfRuns++;
      return verifyPassword(password, user?.password_hash ?? DUMMY_HASH);
    });
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
