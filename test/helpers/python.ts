import * as fs from 'node:fs';
import * as path from 'node:path';
import { commandAvailable, type Availability } from './tools';
import { repoRoot } from './cli';

/** The Python interpreter for suites that use the MLflow client or scikit-learn: MLOPS_PYTHON, then .venv, then python3. */
export function pythonExecutable(): string {
  if (process.env.MLOPS_PYTHON) return process.env.MLOPS_PYTHON;
  const venv = path.join(repoRoot, '.venv', 'bin', 'python');
  return fs.existsSync(venv) ? venv : 'python3';
}

/** Whether that interpreter can import every module listed. */
export function pythonModulesAvailability(modules: string[]): Availability {
  const py = pythonExecutable();
  return commandAvailable(py, ['-c', modules.map((m) => `import ${m}`).join('; ')], `Python modules ${modules.join(', ')} (${py})`);
}
