import { api } from '../api';
import { useLoad } from '../hooks';
import type { XAxis } from './MetricChart';

/** Points per full-size chart request: plenty for a screen-wide line, and cheap even when the run logged 100k. */
export const CHART_POINTS = 1000;

export interface StepRange {
  from: number;
  to: number;
}

export function AxisPicker({ axis, onChange }: { axis: XAxis; onChange: (a: XAxis) => void }) {
  return (
    <div class="axis-picker" role="radiogroup" aria-label="X axis">
      {(['step', 'time', 'relative'] as XAxis[]).map((a) => (
        <label key={a}>
          <input type="radio" name="x-axis" checked={axis === a} onChange={() => onChange(a)} /> {a === 'relative' ? 'relative time' : a}
        </label>
      ))}
    </div>
  );
}

/** The zoom window and how to leave it: a line under the chart. */
export function ZoomNote({ steps, onReset }: { steps?: StepRange; onReset: () => void }) {
  return (
    <div class="muted zoom-note">
      {steps ? (
        <>
          Steps {steps.from}–{steps.to}.{' '}
          <button type="button" class="link" onClick={onReset}>
            Show all steps
          </button>
        </>
      ) : (
        'Drag across the chart (over steps) to zoom in at full detail.'
      )}
    </div>
  );
}

/** An experiment's name for breadcrumbs; its id until (or unless) the name loads. */
export function useExperimentName(experimentId: string | undefined): string {
  const experiment = useLoad(async () => (experimentId ? (await api.getExperiment(experimentId)).experiment.name : ''), [experimentId]);
  return experiment.state === 'ok' && experiment.data ? experiment.data : `experiment ${experimentId ?? ''}`;
}
