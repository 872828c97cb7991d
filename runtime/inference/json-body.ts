import { jsonShapeProblem } from '../json-shape';
import { InputError, MAX_TENSOR_RANK } from './tensors';

/** Request-body nesting: a tensor's own levels plus the protocol's wrappers (`{"inputs": [{"data": …}]}`). */
const BODY_SHAPE = { maxDepth: MAX_TENSOR_RANK + 8, maxTokens: Number.POSITIVE_INFINITY };

/** A JSON request body, or the InputError (400) both protocols answer for a malformed or over-deep one. */
export function parseJsonBody(text: string): unknown {
  // Depth only: a 10 MiB body of numbers is a legitimate batch, but 10 MiB of `[[[[` would hold the
  // event loop for seconds inside JSON.parse before any tensor check could refuse it.
  const problem = jsonShapeProblem(text, BODY_SHAPE);
  if (problem) throw new InputError(`the request body has ${problem}; a tensor value may be nested at most ${MAX_TENSOR_RANK} levels`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`malformed JSON in the request body: ${(err as Error).message}`);
  }
}
