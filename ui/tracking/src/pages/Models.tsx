import { useState } from 'preact/hooks';
import { api, quote } from '../api';
import { KeyTable } from '../components/KeyTable';
import { Empty, ErrorState, Loading } from '../components/states';
import { formatTime } from '../format';
import { useLoad } from '../hooks';
import { href, navigate } from '../router';

export function modelFilter(q: string): string {
  const t = q.trim();
  if (!t) return '';
  if (/[=<>]|\b(LIKE|ILIKE)\b/i.test(t)) return t;
  return `name ILIKE '%${quote(t)}%'`;
}

export function ModelsPage({ q, page }: { q: string; page?: string }) {
  const [text, setText] = useState(q);
  const result = useLoad(() => api.searchRegisteredModels(modelFilter(q), page), [q, page]);
  return (
    <section>
      <h1>Registered models</h1>
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(href(['models'], { q: text }));
        }}
      >
        <input type="search" aria-label="Search models" placeholder="model name" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        <button type="submit">Search</button>
      </form>
      {result.state === 'loading' && <Loading what="registered models" />}
      {result.state === 'error' && <ErrorState error={result.error} what="registered models" />}
      {result.state === 'ok' &&
        (!result.data.registered_models?.length ? (
          <Empty>
            {q ? (
              <>No model matches “{q}”.</>
            ) : (
              <>
                No registered models yet. Register one with <code>mlflow.register_model("runs:/&lt;run_id&gt;/model", "my-model")</code>.
              </>
            )}
          </Empty>
        ) : (
          <>
            <KeyTable
              label="Registered models"
              head={
                <tr>
                  <th>Name</th>
                  <th class="num">Latest version</th>
                  <th>Aliases</th>
                  <th>Last modified</th>
                  <th>Description</th>
                </tr>
              }
              onOpen={(i) => {
                const m = result.data.registered_models?.[i];
                if (m) navigate(href(['models', m.name]));
              }}
            >
              {result.data.registered_models.map((m) => {
                const latest = (m.latest_versions ?? []).reduce((a, v) => Math.max(a, Number(v.version)), 0);
                return (
                  <tr data-row tabIndex={0} key={m.name}>
                    <td>
                      <a href={href(['models', m.name])}>{m.name}</a>
                    </td>
                    <td class="num">{latest ? `v${latest}` : '—'}</td>
                    <td>
                      {(m.aliases ?? []).map((a) => (
                        <span class="badge alias" key={a.alias}>
                          @{a.alias} → v{a.version}
                        </span>
                      ))}
                    </td>
                    <td>{formatTime(m.last_updated_timestamp)}</td>
                    <td class="muted">{m.description}</td>
                  </tr>
                );
              })}
            </KeyTable>
            <nav class="pager">
              {page && <a href={href(['models'], { q })}>First page</a>}
              {result.data.next_page_token && <a href={href(['models'], { q, page: result.data.next_page_token })}>Next page →</a>}
            </nav>
          </>
        ))}
    </section>
  );
}
