import { useState } from 'preact/hooks';
import { api, type ModelVersion } from '../api';
import { KeyTable } from '../components/KeyTable';
import { Empty, ErrorState, Loading } from '../components/states';
import { formatTime } from '../format';
import { useLoad } from '../hooks';
import { promptTemplate, promptUserTags } from '../prompt-template';
import { href, navigate } from '../router';
import { modelFilter } from './Models';

/** The newest version's template, one line, for the list. */
function templatePreview(v: ModelVersion | undefined): string {
  if (!v) return '—';
  const t = promptTemplate(v);
  const s = t.kind === 'chat' ? t.messages.map((m) => `${m.role}: ${m.content}`).join(' · ') : t.text;
  return s.length > 140 ? `${s.slice(0, 140)}…` : s;
}

export function PromptsPage({ q, page }: { q: string; page?: string }) {
  const [text, setText] = useState(q);
  const result = useLoad(() => api.searchPrompts(modelFilter(q), page), [q, page]);
  const prompts = result.state === 'ok' ? (result.data.registered_models ?? []) : [];
  return (
    <section>
      <h1>Prompts</h1>
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(href(['prompts'], { q: text }));
        }}
      >
        <input
          type="search"
          aria-label="Search prompts"
          placeholder="prompt name"
          value={text}
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Search</button>
      </form>
      {result.state === 'loading' && <Loading what="prompts" />}
      {result.state === 'error' && <ErrorState error={result.error} what="prompts" />}
      {result.state === 'ok' && prompts.length === 0 && (
        <Empty>
          {q ? (
            <>No prompt matches “{q}”.</>
          ) : (
            <>
              No prompts yet. Register one with <code>mlflow.genai.register_prompt(name="my-prompt", template="Hello {'{{name}}'}")</code>.
            </>
          )}
        </Empty>
      )}
      {prompts.length > 0 && (
        <>
          <KeyTable
            label="Prompts"
            head={
              <tr>
                <th>Name</th>
                <th class="num">Latest version</th>
                <th>Template (latest)</th>
                <th>Aliases</th>
                <th>Tags</th>
                <th>Last modified</th>
              </tr>
            }
            onOpen={(i) => navigate(href(['prompts', prompts[i].name]))}
          >
            {prompts.map((p) => {
              const latest = [...(p.latest_versions ?? [])].sort((a, b) => Number(b.version) - Number(a.version)).at(0);
              return (
                <tr data-row tabIndex={0} key={p.name} data-prompt={p.name}>
                  <td>
                    <a href={href(['prompts', p.name])}>{p.name}</a>
                  </td>
                  <td class="num">{latest ? `v${latest.version}` : '—'}</td>
                  <td class="mono wrap">{templatePreview(latest)}</td>
                  <td>
                    {(p.aliases ?? []).map((a) => (
                      <span class="badge alias" key={a.alias}>
                        @{a.alias} → v{a.version}
                      </span>
                    ))}
                  </td>
                  <td>
                    {promptUserTags(p.tags).map((t) => (
                      <span class="badge" key={t.key}>
                        {t.key}={t.value}
                      </span>
                    ))}
                  </td>
                  <td>{formatTime(p.last_updated_timestamp)}</td>
                </tr>
              );
            })}
          </KeyTable>
          <nav class="pager">
            {page && <a href={href(['prompts'], { q })}>First page</a>}
            {result.state === 'ok' && result.data.next_page_token && <a href={href(['prompts'], { q, page: result.data.next_page_token })}>Next page →</a>}
          </nav>
        </>
      )}
    </section>
  );
}
