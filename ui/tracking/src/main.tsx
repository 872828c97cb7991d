import { render } from 'preact';
import type { XAxis } from './components/MetricChart';
import { Empty } from './components/states';
import { ComparePage } from './pages/Compare';
import { ExperimentsPage } from './pages/Experiments';
import { ModelPage } from './pages/Model';
import { ModelsPage } from './pages/Models';
import { PromptPage } from './pages/Prompt';
import { PromptsPage } from './pages/Prompts';
import type { StepRange } from './components/ChartControls';
import { RunPage } from './pages/Run';
import type { RunTab } from './pages/RunMetrics';
import { RunsPage } from './pages/Runs';
import { TracePage } from './pages/Trace';
import { TracesPage } from './pages/Traces';
import { href, useLocation } from './router';
import './styles.css';

function axisOf(q: URLSearchParams): XAxis {
  const x = q.get('x');
  return x === 'time' || x === 'relative' ? x : 'step';
}

const TABS: RunTab[] = ['overview', 'metrics', 'system', 'artifacts'];
function tabOf(q: URLSearchParams): RunTab | undefined {
  const t = q.get('tab');
  return TABS.find((x) => x === t);
}

/** `from`/`to` in the URL: a zoomed step window, shareable like everything else. */
function stepsOf(q: URLSearchParams): StepRange | undefined {
  const from = q.get('from');
  const to = q.get('to');
  if (from === null || to === null || !/^-?\d+$/.test(from) || !/^-?\d+$/.test(to) || Number(from) > Number(to)) return undefined;
  return { from: Number(from), to: Number(to) };
}

function Page() {
  const { segments, query } = useLocation();
  const section = segments.at(0);
  const id = segments.at(1);
  const q = (k: string) => query.get(k) ?? undefined;
  switch (section ?? 'experiments') {
    case 'experiments':
      if (id && segments.at(2) === 'traces') return <TracesPage key={`${id}/traces`} experimentId={id} filter={q('filter') ?? ''} page={q('page')} />;
      return id ? (
        <RunsPage key={id} experimentId={id} state={{ filter: q('filter') ?? '', order: q('order') ?? '', cols: q('cols'), page: q('page') }} />
      ) : (
        <ExperimentsPage key={q('q') ?? ''} q={q('q') ?? ''} page={q('page')} />
      );
    case 'runs':
      return id ? (
        <RunPage key={id} runId={id} tab={tabOf(query)} metric={q('metric')} axis={axisOf(query)} steps={stepsOf(query)} />
      ) : (
        <Empty>Open a run from an experiment's runs table.</Empty>
      );
    case 'compare':
      return (
        <ComparePage
          runIds={(q('runs') ?? '').split(',').filter(Boolean)}
          metric={q('metric')}
          axis={axisOf(query)}
          experimentId={q('experiment')}
          steps={stepsOf(query)}
        />
      );
    case 'traces':
      return id ? <TracePage key={id} traceId={id} /> : <Empty>Open a trace from an experiment's Traces tab.</Empty>;
    case 'prompts':
      return id ? <PromptPage key={id} name={id} /> : <PromptsPage key={q('q') ?? ''} q={q('q') ?? ''} page={q('page')} />;
    case 'models':
      return id ? <ModelPage key={id} name={id} /> : <ModelsPage key={q('q') ?? ''} q={q('q') ?? ''} page={q('page')} />;
    default:
      return (
        <Empty>
          There is no page at <code>#/{segments.join('/')}</code>. Go to the <a href={href(['experiments'])}>experiments</a> or the{' '}
          <a href={href(['models'])}>model registry</a>.
        </Empty>
      );
  }
}

function App() {
  const { segments } = useLocation();
  const section = segments[0] ?? 'experiments';
  const tab = (name: string, label: string, match: string[]) => (
    <a href={href([name])} aria-current={match.includes(section) ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <>
      <header class="top">
        <span class="brand">mlops tracking</span>
        <nav>
          {tab('experiments', 'Experiments', ['experiments', 'runs', 'compare', 'traces'])}
          {tab('models', 'Models', ['models'])}
          {tab('prompts', 'Prompts', ['prompts'])}
        </nav>
      </header>
      <main>
        <Page />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
