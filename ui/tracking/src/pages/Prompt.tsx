import { api, IS_PROMPT_TAG, type ModelVersion } from '../api';
import { Empty, ErrorState, Loading } from '../components/states';
import { formatTime } from '../format';
import { useLoad } from '../hooks';
import { MODEL_CONFIG_TAG, promptTemplate, promptUserTags, RESPONSE_FORMAT_TAG, tagValue, templateVariables, type PromptTemplate } from '../prompt-template';
import { href } from '../router';
import { valueText } from '../trace-data';

function Template({ t }: { t: PromptTemplate }) {
  if (t.kind === 'chat')
    return (
      <ol class="chat-template" aria-label="Chat messages">
        {t.messages.map((m, i) => (
          <li key={i}>
            <span class="badge">{m.role}</span>
            <pre class="text-preview">{valueText(m.content)}</pre>
          </li>
        ))}
      </ol>
    );
  return (
    <>
      {t.kind === 'raw' && <p class="muted">{t.reason}</p>}
      <pre class="text-preview template">{valueText(t.text)}</pre>
    </>
  );
}

/** A JSON tag (response format, model config) pretty-printed when it parses, as written when not. */
function jsonTag(raw: string): string {
  try {
    return valueText(JSON.parse(raw) as unknown, 4000);
  } catch {
    return valueText(raw, 4000);
  }
}

function VersionCard({ v }: { v: ModelVersion }) {
  const t = promptTemplate(v);
  const variables = templateVariables(t);
  const responseFormat = tagValue(v.tags, RESPONSE_FORMAT_TAG);
  const modelConfig = tagValue(v.tags, MODEL_CONFIG_TAG);
  return (
    <article class="prompt-version" data-version={v.version} aria-label={`Version ${v.version}`}>
      <header class="title-row">
        <h3>Version {v.version}</h3>
        <span class="badge">{t.kind === 'chat' ? 'chat' : 'text'}</span>
        {(v.aliases ?? []).map((a) => (
          <span class="badge alias" key={a}>
            @{a}
          </span>
        ))}
        <span class="muted">{formatTime(v.creation_timestamp)}</span>
      </header>
      {v.description && <p class="commit-message">{v.description}</p>}
      <Template t={t} />
      {variables.length > 0 && (
        <p class="muted">
          Variables:{' '}
          {variables.map((n) => (
            <code key={n}>{n} </code>
          ))}
        </p>
      )}
      {promptUserTags(v.tags).length > 0 && (
        <p>
          {promptUserTags(v.tags).map((tag) => (
            <span class="badge" key={tag.key}>
              {tag.key}={tag.value}
            </span>
          ))}
        </p>
      )}
      {responseFormat && (
        <details>
          <summary>Response format</summary>
          <pre class="text-preview">{jsonTag(responseFormat)}</pre>
        </details>
      )}
      {modelConfig && (
        <details>
          <summary>Model config</summary>
          <pre class="text-preview">{jsonTag(modelConfig)}</pre>
        </details>
      )}
    </article>
  );
}

export function PromptPage({ name }: { name: string }) {
  const prompt = useLoad(() => api.getRegisteredModel(name), [name]);
  const versions = useLoad(() => api.searchPromptVersions(name), [name]);
  if (prompt.state === 'loading') return <Loading what={`prompt ${name}`} />;
  if (prompt.state === 'error') return <ErrorState error={prompt.error} what={`prompt ${name}`} />;
  const p = prompt.data.registered_model;
  if (tagValue(p.tags, IS_PROMPT_TAG) !== 'true')
    return (
      <Empty>
        <code>{p.name}</code> is a registered model, not a prompt: see it in the <a href={href(['models', p.name])}>model registry</a>.
      </Empty>
    );
  const list = versions.state === 'ok' ? [...(versions.data.model_versions ?? [])].sort((a, b) => Number(b.version) - Number(a.version)) : [];
  return (
    <section>
      <nav class="crumbs">
        <a href={href(['prompts'])}>Prompts</a> / {p.name}
      </nav>
      <h1>{p.name}</h1>
      <dl class="facts">
        <dt>Created</dt>
        <dd>{formatTime(p.creation_timestamp)}</dd>
        <dt>Last modified</dt>
        <dd>{formatTime(p.last_updated_timestamp)}</dd>
        <dt>Aliases</dt>
        <dd class="aliases">
          {!p.aliases?.length
            ? '—'
            : p.aliases.map((a) => (
                <span class="badge alias" key={a.alias}>
                  @{a.alias} → v{a.version}
                </span>
              ))}
        </dd>
        <dt>Tags</dt>
        <dd class="prompt-tags">
          {promptUserTags(p.tags).length === 0
            ? '—'
            : promptUserTags(p.tags).map((t) => (
                <span class="badge" key={t.key}>
                  {t.key}={t.value}
                </span>
              ))}
        </dd>
      </dl>
      <h2>Versions</h2>
      {versions.state === 'loading' && <Loading what="versions" />}
      {versions.state === 'error' && <ErrorState error={versions.error} what="versions" />}
      {versions.state === 'ok' && list.length === 0 && <Empty>No versions yet.</Empty>}
      {list.map((v) => (
        <VersionCard v={v} key={v.version} />
      ))}
    </section>
  );
}
