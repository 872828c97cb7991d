import { href } from '../router';

/** The experiment page's tabs: its runs and its traces. */
export function ExperimentTabs({ experimentId, current }: { experimentId: string; current: 'runs' | 'traces' }) {
  return (
    <nav class="tabs" aria-label="Experiment views">
      <a href={href(['experiments', experimentId])} aria-current={current === 'runs' ? 'page' : undefined}>
        Runs
      </a>
      <a href={href(['experiments', experimentId, 'traces'])} aria-current={current === 'traces' ? 'page' : undefined}>
        Traces
      </a>
    </nav>
  );
}
