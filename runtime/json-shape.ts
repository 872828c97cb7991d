/**
 * A pre-check of a JSON text before JSON.parse: its nesting depth and its count of structural tokens
 * (`[`, `{`, `,`, `:`). JSON.parse cannot be interrupted and costs about a microsecond per nested
 * level or small container, so a 1 MB body of `[[[[…` or `[[],[],…` would hold the event loop for
 * a large fraction of a second; string contents are skipped with indexOf, so long strings (dataset
 * profiles, descriptions) cost almost nothing here.
 */
export interface JsonShapeLimits {
  maxDepth: number;
  maxTokens: number;
}

const QUOTE = 34;
const BACKSLASH = 92;

/** Index of the quote closing the string opened at `open`, or -1 when it is unterminated. */
function stringEnd(text: string, open: number): number {
  let from = open + 1;
  for (;;) {
    const q = text.indexOf('"', from);
    if (q < 0) return -1;
    let k = q - 1;
    while (text.charCodeAt(k) === BACKSLASH) k--;
    // An even number of backslashes before the quote: it is not escaped.
    if ((q - 1 - k) % 2 === 0) return q;
    from = q + 1;
  }
}

/**
 * Why `text` exceeds the limits, or undefined when it does not (or is malformed in a way JSON.parse
 * will report itself). Linear in the text, stopping at the first limit crossed.
 */
export function jsonShapeProblem(text: string, limits: JsonShapeLimits): string | undefined {
  let depth = 0;
  let tokens = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end < 0) return undefined;
      i = end;
    } else if (c === 91 || c === 123) {
      if (++depth > limits.maxDepth) return `arrays and objects nested deeper than ${limits.maxDepth} levels`;
      if (++tokens > limits.maxTokens) return `more than ${limits.maxTokens} values`;
    } else if (c === 93 || c === 125) {
      depth--;
    } else if ((c === 44 || c === 58) && ++tokens > limits.maxTokens) {
      return `more than ${limits.maxTokens} values`;
    }
  }
  return undefined;
}
