import { realpathSync } from 'node:fs';
import * as path from 'node:path';

/**
 * How to start the `mlops` CLI that is running now: this process's node and CLI entry (bin/mlops.js of this
 * checkout or installed package, symlinks resolved), so child processes (pipeline steps, tuning trials) run the same
 * code as their parent, whatever is on PATH and whether it runs from source or from lib/.
 */
export function currentMlopsCommand(argv1 = process.argv[1]): string[] {
  if (!argv1) throw new Error('cannot tell which mlops CLI is running (process.argv[1] is unset)');
  return [process.execPath, realpathSync(path.resolve(argv1))];
}
