import { MlflowError } from '../http/errors';

/**
 * User names that cannot pass for someone else's (issue 14, finding 7).
 *
 * A new name must be printable and unambiguous: letters, combining marks and decimal digits of one
 * script (UTS #39 "highly restrictive": Latin may join Han/Kana or Han/Hangul or Han/Bopomofo), the
 * printable ASCII punctuation except `:`, and single inner spaces. Refused: surrounding or repeated
 * spaces, any other whitespace, control, format (bidi, zero-width, soft hyphen…), default-ignorable
 * (Hangul fillers…), private-use and unassigned code points, and any name NFKC normalisation would
 * change (fullwidth letters, ligatures, decomposed accents).
 *
 * Uniqueness is on usernameKey(): the case-folded form in which Cyrillic and Greek letters that look
 * like Latin ones count as those, so `BOB`, `Bob` and an all-Cyrillic `ВОВ` are all `bob`. Logins stay
 * an exact match of the name as created.
 */

/** PostgreSQL's users.username is varchar(255); counted in code points as PostgreSQL counts. */
export const MAX_USERNAME_LENGTH = 255;

/** UTS #31 Table 4, Recommended Scripts (the scripts a name's letters may come from). */
const RECOMMENDED_SCRIPTS = [
  'Arab',
  'Armn',
  'Beng',
  'Bopo',
  'Cyrl',
  'Deva',
  'Ethi',
  'Geor',
  'Grek',
  'Gujr',
  'Guru',
  'Hang',
  'Hani',
  'Hebr',
  'Hira',
  'Kana',
  'Khmr',
  'Knda',
  'Laoo',
  'Latn',
  'Mlym',
  'Mymr',
  'Orya',
  'Sinh',
  'Taml',
  'Telu',
  'Thaa',
  'Thai',
  'Tibt',
];
const SCRIPT_TESTS = RECOMMENDED_SCRIPTS.map((s) => [s, new RegExp(`^\\p{Script_Extensions=${s}}$`, 'u')] as const);
/** UTS #39 augmented script sets: Han with Kana is Japanese, with Hangul Korean, with Bopomofo Chinese. */
const AUGMENT: Record<string, string[]> = { Hani: ['Jpan', 'Kore', 'Hanb'], Hira: ['Jpan'], Kana: ['Jpan'], Hang: ['Kore'], Bopo: ['Hanb'] };
const CJK_SETS = ['Jpan', 'Kore', 'Hanb'];

const LETTER_OR_DIGIT = /^[\p{L}\p{Nd}]$/u;
const MARK = /^\p{M}$/u;
const INVISIBLE = /^[\p{Default_Ignorable_Code_Point}\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}]$/u;
const WHITESPACE = /^[\s\p{Z}]$/u;

function codePoint(c: string): string {
  const cp = c.codePointAt(0);
  if (cp === undefined) throw new Error('codePoint: empty string');
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

function invalid(username: string, why: string): MlflowError {
  return MlflowError.invalid(`Invalid username ${JSON.stringify(username)}: ${why}.`);
}

/** The recommended scripts (augmented) a code point belongs to; undefined for Common/Inherited ones. */
function scriptsOf(c: string): Set<string> | undefined {
  const found = SCRIPT_TESTS.filter(([, re]) => re.test(c)).map(([s]) => s);
  if (!found.length) return undefined;
  return new Set(found.flatMap((s) => [s, ...(AUGMENT[s] ?? [])]));
}

/** Whether the letters' script sets have a common script (UTS #39 single script), optionally allowing Latin + one CJK set. */
function singleScript(sets: Set<string>[]): boolean {
  const resolve = (list: Set<string>[]) =>
    list.reduce<Set<string> | undefined>((acc, s) => (acc ? new Set([...acc].filter((x) => s.has(x))) : new Set(s)), undefined);
  const all = resolve(sets);
  if (!all || all.size > 0) return true;
  const nonLatin = resolve(sets.filter((s) => !s.has('Latn')));
  return nonLatin !== undefined && CJK_SETS.some((c) => nonLatin.has(c));
}

/** Character-level rules: what each code point may be, and where spaces may stand. */
function checkCharacters(username: string): void {
  if (username.startsWith(' ') || username.endsWith(' ')) throw invalid(username, 'it may not start or end with a space');
  if (username.includes('  ')) throw invalid(username, 'it may not contain two spaces in a row');
  for (const c of username) {
    if (c === ':') throw invalid(username, "it may not contain ':' (HTTP Basic credentials are username:password)");
    if (c === ' ' || (c >= '!' && c <= '~')) continue;
    if (INVISIBLE.test(c)) throw invalid(username, `it contains the invisible, control or format character ${codePoint(c)}`);
    if (WHITESPACE.test(c)) throw invalid(username, `it contains the whitespace ${codePoint(c)} (only single inner ASCII spaces are allowed)`);
    if (!LETTER_OR_DIGIT.test(c) && !MARK.test(c)) throw invalid(username, `${codePoint(c)} is not a letter or digit, and punctuation must be ASCII`);
  }
}

export function validateUsername(username: unknown): string {
  if (typeof username !== 'string' || username.trim() === '') throw MlflowError.invalid('Username cannot be empty.');
  if (Array.from(username).length > MAX_USERNAME_LENGTH) throw MlflowError.invalid(`Username must be at most ${MAX_USERNAME_LENGTH} characters.`);
  checkCharacters(username);
  if (username.normalize('NFKC') !== username) throw invalid(username, 'it changes under Unicode NFKC normalisation (send the composed, plain form)');
  const sets: Set<string>[] = [];
  for (const c of username) {
    const isLetter = LETTER_OR_DIGIT.test(c);
    if (!isLetter && !MARK.test(c)) continue;
    const scripts = scriptsOf(c);
    if (scripts) sets.push(scripts);
    else if (isLetter && c > '~') throw invalid(username, `${codePoint(c)} is not in a script recommended for identifiers (UTS #31)`);
  }
  if (!singleScript(sets)) throw invalid(username, 'it mixes letters of different scripts');
  return username;
}

/**
 * Cyrillic and Greek letters (after case folding) that look like a Latin letter in upper or lower
 * case; a small subset of UTS #39's confusables, enough for whole-script look-alikes of Latin names.
 */
const LOOK_ALIKES: Record<string, string> = {
  а: 'a',
  в: 'b',
  е: 'e',
  і: 'i',
  ј: 'j',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  ԁ: 'd',
  һ: 'h',
  ӏ: 'l',
  ԛ: 'q',
  ԝ: 'w',
  α: 'a',
  β: 'b',
  ε: 'e',
  ζ: 'z',
  η: 'h',
  ι: 'i',
  κ: 'k',
  μ: 'm',
  ν: 'n',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'y',
  χ: 'x',
};

/**
 * The form user names are unique in. Also computed for legacy names that validateUsername would
 * refuse (by migration 0006), so invisible characters are dropped and spaces collapsed first.
 * Changing this function needs a migration that recomputes users.username_key.
 */
export function usernameKey(username: string): string {
  const visible = Array.from(username.normalize('NFKC'))
    .filter((c) => !INVISIBLE.test(c))
    .join('');
  const folded = visible.replace(/\s+/gu, ' ').trim().toLowerCase().toUpperCase().toLowerCase().normalize('NFKC');
  return Array.from(folded)
    .map((c) => LOOK_ALIKES[c] ?? c)
    .join('');
}
