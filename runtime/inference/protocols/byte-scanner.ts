/**
 * A reader of JSON text straight from the request bytes, for the narrow shapes direct-parse.ts takes:
 * objects, arrays, printable-ASCII strings without escapes, and numbers. It never throws and never
 * guesses: every method reports "not this shape" (undefined, false or NaN) and the caller then hands
 * the body to JSON.parse, whose answer (or error) is the reference.
 */

/** The structural bytes of JSON. */
export const OPEN_OBJECT = 123;
export const CLOSE_OBJECT = 125;
export const OPEN_ARRAY = 91;
export const CLOSE_ARRAY = 93;
export const COMMA = 44;
export const COLON = 58;
const QUOTE = 34;
const BACKSLASH = 92;
const MINUS = 45;
const PLUS = 43;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const LOWER_E = 101;
const UPPER_E = 69;

/** 10^0 … 10^22: the powers of ten a double holds exactly. */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/** Significant digits below which a decimal mantissa is an exact integer in a double (10^15 < 2^53). */
const EXACT_DIGITS = 15;

/**
 * True when `v`, a decimal of 16 to 40 significant digits computed with a relative error under 2^-47,
 * rounds to the same float32 as the correctly rounded double of that decimal: `v` lies within
 * |f|·2^-27 of f = fround(v), while f's rounding interval reaches at least |f|·2^-26 on either side.
 * Numbers that were float32 values printed with 17 digits (what numpy's float32 → JSON gives) are.
 */
function closeToFloat32(v: number): boolean {
  const f = Math.fround(v);
  return Number.isFinite(f) && Math.abs(v - f) <= Math.abs(f) * 2 ** -27;
}

export class ByteScanner {
  pos = 0;
  /** Set once number(true) returned a value that is only right after rounding to float32. */
  approximate = false;

  constructor(private readonly bytes: Buffer) {}

  /** Skips JSON whitespace; the byte there, or -1 at the end. */
  peek(): number {
    const b = this.bytes;
    let p = this.pos;
    while (p < b.length) {
      const c = b[p];
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
      p++;
    }
    this.pos = p;
    return p < b.length ? b[p] : -1;
  }

  /** Consumes `c` (after whitespace) when it is next. */
  eat(c: number): boolean {
    if (this.peek() !== c) return false;
    this.pos++;
    return true;
  }

  /** True when only whitespace is left. */
  atEnd(): boolean {
    return this.peek() === -1;
  }

  /** Index of the quote closing a string of printable ASCII without escapes that starts here, else -1. */
  private plainStringEnd(): number {
    if (this.peek() !== QUOTE) return -1;
    const b = this.bytes;
    for (let p = this.pos + 1; p < b.length; p++) {
      const c = b[p];
      if (c === QUOTE) return p;
      if (c < 0x20 || c > 0x7e || c === BACKSLASH) return -1;
    }
    return -1;
  }

  /** A string of printable ASCII without escapes, else undefined. */
  string(): string | undefined {
    const end = this.plainStringEnd();
    if (end < 0) return undefined;
    const text = this.bytes.toString('latin1', this.pos + 1, end);
    this.pos = end + 1;
    return text;
  }

  /**
   * The one of `candidates` the next string spells, else undefined. Compared in place: decoding each
   * short key and name into a string would cost more than the rest of a small body.
   */
  oneOf(candidates: readonly string[]): string | undefined {
    const end = this.plainStringEnd();
    if (end < 0) return undefined;
    const b = this.bytes;
    const from = this.pos + 1;
    const length = end - from;
    for (const c of candidates) {
      if (c.length !== length) continue;
      let i = 0;
      while (i < length && c.charCodeAt(i) === b[from + i]) i++;
      if (i === length) {
        this.pos = end + 1;
        return c;
      }
    }
    return undefined;
  }

  /**
   * A JSON number with the value JSON.parse gives it, or NaN when the next token is not one. Up to 15
   * significant digits and a decimal exponent within ±22 are computed exactly (m × 10^e or m / 10^-e of
   * two exact doubles is correctly rounded, as the decimal itself is); anything else goes to Number(),
   * unless `forFloat32` allows the shortcut below.
   */
  number(forFloat32 = false): number {
    const b = this.bytes;
    let p = this.pos;
    let c = b[p];
    if (c === 32 || c === 10 || c === 13 || c === 9) {
      this.peek();
      p = this.pos;
      c = b[p];
    }
    // One pass, one byte read per step; reads past the end give undefined, which no comparison matches.
    const start = p;
    const negative = c === MINUS;
    if (negative) c = b[++p];
    let mantissa = 0;
    let digits = 0;
    let exponent = 0;
    if (c === ZERO) c = b[++p];
    else if (c >= ZERO && c <= NINE) {
      do {
        mantissa = mantissa * 10 + c - ZERO;
        digits++;
        c = b[++p];
      } while (c >= ZERO && c <= NINE);
    } else return NaN;
    if (c === DOT) {
      c = b[++p];
      const from = p;
      // Zeros before the first significant digit only move the exponent.
      if (digits === 0)
        while (c === ZERO) {
          exponent--;
          c = b[++p];
        }
      while (c >= ZERO && c <= NINE) {
        mantissa = mantissa * 10 + c - ZERO;
        digits++;
        exponent--;
        c = b[++p];
      }
      if (p === from) return NaN;
    }
    if (c === LOWER_E || c === UPPER_E) {
      c = b[++p];
      const negativeExponent = c === MINUS;
      if (negativeExponent || c === PLUS) c = b[++p];
      const from = p;
      let e = 0;
      while (c >= ZERO && c <= NINE) {
        if (e < 1e6) e = e * 10 + c - ZERO;
        c = b[++p];
      }
      if (p === from) return NaN;
      exponent += negativeExponent ? -e : e;
    }
    this.pos = p;
    if (exponent >= -22 && exponent <= 22 && (digits <= EXACT_DIGITS || (forFloat32 && digits <= 40))) {
      const v = exponent < 0 ? mantissa / POW10[-exponent] : mantissa * POW10[exponent];
      if (digits <= EXACT_DIGITS) return negative ? -v : v;
      if (closeToFloat32(v)) {
        this.approximate = true;
        return negative ? -v : v;
      }
    }
    return Number(b.toString('latin1', start, p));
  }

  /**
   * `[n, n, …]` of numbers only (no nesting) appended to `out` from `at`; the count read, or -1 when the
   * array is something else or would pass `out`'s end.
   */
  numbers(out: Float64Array, at: number, forFloat32 = false): number {
    if (!this.eat(OPEN_ARRAY)) return -1;
    if (this.eat(CLOSE_ARRAY)) return 0;
    const b = this.bytes;
    let n = 0;
    for (;;) {
      if (at + n >= out.length) return -1;
      const v = this.number(forFloat32);
      if (v !== v) return -1;
      out[at + n++] = v;
      // The separator usually follows the number directly: test it before the whitespace-skipping eat().
      const c = b[this.pos];
      if (c === COMMA) this.pos++;
      else if (c === CLOSE_ARRAY) {
        this.pos++;
        return n;
      } else if (!this.eat(COMMA)) return this.eat(CLOSE_ARRAY) ? n : -1;
    }
  }
}
