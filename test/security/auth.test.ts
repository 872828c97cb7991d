import * as path from 'node:path';
import { AuthStore, hashPassword } from '../../runtime/tracking/auth';
import { openStore } from '../../runtime/tracking/store/connection';
import { migrateToLatest } from '../../runtime/tracking/store/migrate';
import { migrations } from '../../runtime/tracking/store/migrations';
import { ADMIN, call, startAuthServer, type AuthTestServer } from '../auth/helpers';
import { createTestDatabase } from '../helpers/postgres';
import { describeWithTool } from '../helpers/tools';
import { storeAvailability, storeKinds, tmpDir, type StoreKind } from '../tracking/helpers';

/**
 * Attacker replays of issue 14's findings 4, 6 and 7 against a real tracking server with
 * `--app-name basic-auth` (wired as the CLI wires it), on SQLite and PostgreSQL.
 */

function expectDenied(res: { status: number; body: any }, what: string): void {
  if (res.status !== 403) throw new Error(`${what}: expected 403, got ${res.status} ${JSON.stringify(res.body)}`);
  expect(res.body).toEqual({ error_code: 'PERMISSION_DENIED', message: 'Permission denied' });
}

function expectOk(res: { status: number; body: any }, what: string): void {
  if (res.status !== 200) throw new Error(`${what}: expected 200, got ${res.status} ${JSON.stringify(res.body)}`);
}

for (const kind of storeKinds()) {
  describeWithTool(`security replay: basic-auth on the ${kind} store`, storeAvailability(kind), () => {
    describe('finding 7: look-alike user names', () => {
      let server: AuthTestServer;
      beforeAll(async () => {
        server = await startAuthServer(kind);
      });
      afterAll(async () => server?.stop());
      const create = (username: string) => call(server.url, ADMIN, 'POST', '/users/create', { username, password: 'a-long-password-0001' });

      test('names with surrounding or unusual whitespace, invisible, format or control characters, NFKC variants or mixed scripts are refused', async () => {
        const bad: [string, string][] = [
          ['trailing space', 'bob '],
          ['leading space', ' bob'],
          ['two spaces', 'bob  smith'],
          ['tab', 'bob\tsmith'],
          ['no-break space', 'bob\u00a0smith'],
          ['ideographic space', 'bob\u3000smith'],
          ['line separator', 'bob\u2028'],
          ['paragraph separator', 'bob\u2029x'],
          ['zero-width space', 'bo\u200bb'],
          ['trailing zero-width space', 'user\u200b'],
          ['zero-width joiner', 'bo\u200db'],
          ['soft hyphen', 'bob\u00ad'],
          ['word joiner', 'bob\u2060'],
          ['byte order mark', '\ufeffbob'],
          ['right-to-left override', '\u202ebob'],
          ['right-to-left mark', 'bob\u200f'],
          ['Hangul filler (invisible letter)', 'bob\u3164'],
          ['NUL', 'bo\u0000b'],
          ['DEL', 'bob\u007f'],
          ['fullwidth letters (change under NFKC)', '\uff42\uff4f\uff42'],
          ['ligature (changes under NFKC)', '\ufb01ona'],
          ['decomposed accent (changes under NFKC)', 'jose\u0301'],
          ['Cyrillic а among Latin letters', '\u0430lice'],
          ['Greek ο among Latin letters', 'b\u03bfb'],
          ['non-ASCII punctuation that looks like a hyphen', 'bob\u2010x'],
          ['colon (HTTP Basic separator)', 'bob:x'],
        ];
        const accepted: string[] = [];
        for (const [what, username] of bad) {
          const res = await create(username);
          if (res.status !== 400 || res.body.error_code !== 'INVALID_PARAMETER_VALUE') accepted.push(`${what} ${escaped(username)}: ${res.status}`);
          else expect((await call(server.url, ADMIN, 'GET', '/users/get', { username })).status).toBe(404);
        }
        expect(accepted).toEqual([]);
      });

      test('ordinary names in any one script are accepted', async () => {
        for (const username of ['alice.smith@example.com', 'svc-training_01', 'Jane Doe', 'Jos\u00e9', '\u5c71\u7530\u592a\u90ce', '\u0415\u043b\u0435\u043d\u0430', '\u0395\u03bb\u03ad\u03bd\u03b7', "o'brien+ml"]) {
          expectOk(await create(username), JSON.stringify(username));
        }
      });

      test('names are unique case-insensitively and across Cyrillic/Greek look-alikes; login stays exact', async () => {
        expectOk(await create('dana'), 'dana');
        for (const twin of ['DANA', 'Dana', 'danA']) {
          const res = await create(twin);
          expect([twin, res.status, res.body.error_code]).toEqual([twin, 400, 'RESOURCE_ALREADY_EXISTS']);
          expect(res.body.message).toMatch(/dana/);
        }
        expectOk(await create('ace'), 'ace');
        // All-Cyrillic "асе" passes the mixed-script rule but looks exactly like "ace".
        const cyrillic = await create('\u0430\u0441\u0435');
        expect([cyrillic.status, cyrillic.body.error_code]).toEqual([400, 'RESOURCE_ALREADY_EXISTS']);
        // Login is an exact match on the name as created.
        expect((await call(server.url, { username: 'dana', password: 'a-long-password-0001' }, 'GET', '/users/current')).status).toBe(200);
        expect((await call(server.url, { username: 'DANA', password: 'a-long-password-0001' }, 'GET', '/users/current')).status).toBe(401);
        // A name no account can have (NUL, which PostgreSQL text cannot hold) is a 401, never a 500.
        expect((await call(server.url, { username: 'da\u0000na', password: 'a-long-password-0001' }, 'GET', '/users/current')).status).toBe(401);
      });

      test('the migration keeps existing look-alike accounts, gives the first the name and reports the others', async () => {
        const { uri, drop } = await scratchDatabase(kind);
        const connection = await openStore(uri);
        try {
          const before = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0006'));
          await migrateToLatest(connection.db, before);
          const hash = await hashPassword('legacy-password-01');
          for (const username of ['dup', 'DUP', 'du\u200bp', 'other']) {
            await connection.db.insertInto('users' as never).values({ username, password_hash: hash, is_admin: 0 } as never).execute();
          }
          await migrateToLatest(connection.db);
          const store = new AuthStore(connection.db);
          expect(await store.lookAlikeUsers()).toEqual(['DUP', 'du\u200bp']);
          // Every existing account still logs in by its exact name; none can be added again under another case.
          for (const username of ['dup', 'DUP', 'du\u200bp']) expect((await store.findUser(username))?.username).toBe(username);
          await expect(store.createUser('Dup', 'a-long-password-0001')).rejects.toMatchObject({ errorCode: 'RESOURCE_ALREADY_EXISTS' });
          await expect(store.createUser('OTHER', 'a-long-password-0001')).rejects.toMatchObject({ errorCode: 'RESOURCE_ALREADY_EXISTS' });
          // Deleting the first account frees its name for a new one: the unique key was only on it.
          await store.deleteUser('dup');
          await store.createUser('Dup', 'a-long-password-0001');
        } finally {
          await connection.close();
          await drop();
        }
      });
    });

  });
}

/** A name with every non-printable-ASCII character as \\uXXXX, so a failure message shows what was sent. */
function escaped(name: string): string {
  return JSON.stringify(name.replace(/[^\x21-\x7e]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`));
}

/** An empty database of the given kind (SQLite file or a fresh PostgreSQL database) for migration tests. */
async function scratchDatabase(kind: StoreKind): Promise<{ uri: string; drop: () => Promise<void> }> {
  if (kind === 'postgres') {
    const db = await createTestDatabase('mlops_security');
    return { uri: db.url, drop: db.drop };
  }
  return { uri: `sqlite:///${path.join(tmpDir('security-migration'), 'mlflow.db')}`, drop: async () => undefined };
}
