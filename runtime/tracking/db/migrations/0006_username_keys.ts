import type { Kysely } from 'kysely';
import { usernameKey } from '../../auth/usernames';

/**
 * users.username_key: the case- and look-alike-folded name (auth/usernames.ts), under a unique index,
 * so `bob`, `BOB` and an all-Cyrillic `ВОВ` can no longer be three accounts. Computed here in
 * TypeScript (SQL lower() folds only ASCII on SQLite and follows the locale on PostgreSQL).
 *
 * Existing twins are not merged, renamed or deleted: the oldest account (lowest id) gets the key,
 * each later look-alike keeps its row, password and grants with a NULL key (a unique index allows
 * several NULLs on both stores) and still logs in by its exact name; the server lists them in a
 * warning at start so an admin can delete the ones that should not exist.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('username_key', 'text').execute();
  const rows = await db.selectFrom('users').select(['id', 'username']).orderBy('id').execute();
  const taken = new Set<string>();
  for (const row of rows as { id: number; username: string }[]) {
    const key = usernameKey(row.username);
    if (taken.has(key)) continue;
    taken.add(key);
    await db.updateTable('users').set({ username_key: key }).where('id', '=', row.id).execute();
  }
  await db.schema.createIndex('unique_users_username_key').on('users').column('username_key').unique().execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('unique_users_username_key').execute();
  await db.schema.alterTable('users').dropColumn('username_key').execute();
}
