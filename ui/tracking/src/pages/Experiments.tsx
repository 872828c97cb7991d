import { useState } from 'preact/hooks';
import { api, quote } from '../api';
import { KeyTable } from '../components/KeyTable';
import { Empty, ErrorState, Loading } from '../components/states';
import { formatTime } from '../format';
import { useLoad } from '../hooks';
import { href, navigate } from '../router';

/** Turns what a person types into a search_experiments filter: plain words match the name. */
export function experimentFilter(q: string): string {
  const t = q.trim();
  if (!t) return '';
  if (/[=<>]|\b(LIKE|ILIKE)\b/i.test(t)) return t; // already the DSL (e.g. tags.team = 'vision')
  return `name ILIKE '%${quote(t)}%'`;
}

export function ExperimentsPage({ q, page }: { q: string; page?: string }) {
  const [text, setText] = useState(q);
  const result = useLoad(() => api.searchExperiments(experimentFilter(q), page), [q, page]);
  const submit = (e: Event) => {
    e.preventDefault();
    navigate(href(['experiments'], { q: text }));
  };
  return (
    <section>
      <h1>Experiments</h1>
      <form class="toolbar" onSubmit={submit} role="search">
        <input
          type="search"
          aria-label="Search experiments"
          placeholder="name, or a filter such as tags.team = 'vision'"
          value={text}
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Search</button>
      </form>
      {result.state === 'loading' && <Loading what="experiments" />}
      {result.state === 'error' && <ErrorState error={result.error} what="experiments" />}
      {result.state === 'ok' &&
        (!result.data.experiments?.length ? (
          <Empty>
            {q ? (
              <>No experiment matches “{q}”. Clear the search to see them all.</>
            ) : (
              <>
                No experiments yet. Create one from code with <code>mlflow.set_experiment("my-experiment")</code> and log a run.
              </>
            )}
          </Empty>
        ) : (
          <>
            <KeyTable
              label="Experiments"
              head={
                <tr>
                  <th>Name</th>
                  <th>ID</th>
                  <th>Created</th>
                  <th>Last updated</th>
                  <th>Artifact location</th>
                </tr>
              }
              onOpen={(i) => {
                const x = result.data.experiments?.[i];
                if (x) navigate(href(['experiments', x.experiment_id]));
              }}
            >
              {result.data.experiments.map((x) => (
                <tr data-row tabIndex={0} key={x.experiment_id}>
                  <td>
                    <a href={href(['experiments', x.experiment_id])}>{x.name}</a>
                  </td>
                  <td class="mono">{x.experiment_id}</td>
                  <td>{formatTime(x.creation_time)}</td>
                  <td>{formatTime(x.last_update_time)}</td>
                  <td class="mono muted">{x.artifact_location}</td>
                </tr>
              ))}
            </KeyTable>
            <nav class="pager">
              {page && <a href={href(['experiments'], { q })}>First page</a>}
              {result.data.next_page_token && <a href={href(['experiments'], { q, page: result.data.next_page_token })}>Next page →</a>}
            </nav>
          </>
        ))}
    </section>
  );
}
