import { useState } from 'preact/hooks';
import { api, ApiError, type KeyValue } from '../api';

/** The tag MLflow's UI keeps a run's description in (mlflow.utils.mlflow_tags.MLFLOW_RUN_NOTE). */
export const NOTE_TAG = 'mlflow.note.content';

/** A save in flight and its failure, if any; `run` resolves true when it succeeded. */
function useSave() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const run = async (action: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      return true;
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, 'CLIENT_ERROR', String(e)));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, clear: () => setError(undefined) };
}

/** Why a change was refused, in words: the server's 403 is the same one the Python client would get. */
export function SaveError({ error }: { error?: ApiError }) {
  if (!error) return null;
  const hint =
    error.status === 403
      ? 'Your account may read this run but not change it. Ask an owner of the experiment for EDIT permission.'
      : error.status === 401
        ? 'Sign in again: reload the page and enter your credentials.'
        : 'Nothing was changed. Fix the value, or look at the tracking server log if it keeps failing.';
  return (
    <div class="state error save-error" role="alert">
      <strong>Not saved</strong>
      <div class="error-message">
        {error.errorCode}: {error.message}
      </div>
      <div>{hint}</div>
    </div>
  );
}

/** The run's name as the page title, renamed in place through runs/update. */
export function RunTitle({ runId, name, onSaved }: { runId: string; name: string; onSaved: () => void }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(name);
  const save = useSave();
  if (!editing) {
    return (
      <div class="title-row">
        <h1>{name || runId}</h1>
        <button
          type="button"
          class="link"
          onClick={() => {
            setText(name);
            setEditing(true);
          }}
        >
          Rename
        </button>
      </div>
    );
  }
  const submit = async (e: Event) => {
    e.preventDefault();
    if (await save.run(() => api.renameRun(runId, text.trim()))) {
      setEditing(false);
      onSaved();
    }
  };
  return (
    <form class="title-row" onSubmit={(e) => void submit(e)}>
      <input class="title-input" aria-label="Run name" value={text} maxLength={250} onInput={(e) => setText((e.target as HTMLInputElement).value)} autoFocus />
      <button type="submit" disabled={save.busy || !text.trim()}>
        Save
      </button>
      <button
        type="button"
        onClick={() => {
          save.clear();
          setEditing(false);
        }}
      >
        Cancel
      </button>
      <SaveError error={save.error} />
    </form>
  );
}

/** The run's description (the `mlflow.note.content` tag), shown as plain text and edited in a text area. */
export function Description({ runId, note, onSaved }: { runId: string; note: string; onSaved: () => void }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(note);
  const save = useSave();
  const submit = async (e: Event) => {
    e.preventDefault();
    const value = text.trim();
    // An emptied description is removed, as MLflow's UI does, rather than kept as an empty tag.
    const ok = await save.run(() => (value ? api.setTag(runId, NOTE_TAG, value) : note ? api.deleteTag(runId, NOTE_TAG) : Promise.resolve()));
    if (ok) {
      setEditing(false);
      onSaved();
    }
  };
  if (!editing) {
    return (
      <div class="description">
        {note ? <p class="note">{note}</p> : <p class="muted">No description.</p>}
        <button
          type="button"
          class="link"
          onClick={() => {
            setText(note);
            setEditing(true);
          }}
        >
          {note ? 'Edit description' : 'Add a description'}
        </button>
      </div>
    );
  }
  return (
    <form class="description" onSubmit={(e) => void submit(e)}>
      <textarea aria-label="Description" rows={5} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} autoFocus />
      <div class="toolbar">
        <button type="submit" disabled={save.busy}>
          Save
        </button>
        <button
          type="button"
          onClick={() => {
            save.clear();
            setEditing(false);
          }}
        >
          Cancel
        </button>
      </div>
      <SaveError error={save.error} />
    </form>
  );
}

/** The run's own tags (not `mlflow.*`): change a value, delete one, add one; each through set-tag / delete-tag. */
export function TagEditor({ runId, tags, onSaved }: { runId: string; tags: KeyValue[]; onSaved: () => void }) {
  const [draft, setDraft] = useState<{ key: string; value: string; original?: string }>();
  const save = useSave();
  const sorted = [...tags].sort((a, b) => a.key.localeCompare(b.key));
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!draft) return;
    const key = draft.key.trim();
    const ok = await save.run(async () => {
      await api.setTag(runId, key, draft.value);
      // Renaming a key is a new tag and the old one removed.
      if (draft.original !== undefined && draft.original !== key) await api.deleteTag(runId, draft.original);
    });
    if (ok) {
      setDraft(undefined);
      onSaved();
    }
  };
  const remove = async (key: string) => {
    if (await save.run(() => api.deleteTag(runId, key))) onSaved();
  };
  return (
    <div class="tag-editor">
      {sorted.length > 0 && (
        <table class="table key-value" aria-label="Tags">
          <thead>
            <tr>
              <th>Key</th>
              <th>Value</th>
              <th class="actions">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((t) => (
              <tr data-row tabIndex={0} key={t.key} data-tag={t.key}>
                <td class="mono wrap">{t.key}</td>
                <td class="mono wrap">{t.value}</td>
                <td class="actions">
                  <button type="button" class="link" aria-label={`Edit tag ${t.key}`} onClick={() => setDraft({ key: t.key, value: t.value, original: t.key })}>
                    Edit
                  </button>{' '}
                  <button type="button" class="link" aria-label={`Delete tag ${t.key}`} disabled={save.busy} onClick={() => void remove(t.key)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!sorted.length && !draft && <p class="muted">No tags.</p>}
      {draft ? (
        <form class="toolbar tag-form" onSubmit={(e) => void submit(e)}>
          <input
            aria-label="Tag key"
            placeholder="key"
            value={draft.key}
            maxLength={250}
            onInput={(e) => setDraft({ ...draft, key: (e.target as HTMLInputElement).value })}
          />
          <input
            aria-label="Tag value"
            placeholder="value"
            class="wide"
            value={draft.value}
            onInput={(e) => setDraft({ ...draft, value: (e.target as HTMLInputElement).value })}
          />
          <button type="submit" disabled={save.busy || !draft.key.trim()}>
            Save tag
          </button>
          <button
            type="button"
            onClick={() => {
              save.clear();
              setDraft(undefined);
            }}
          >
            Cancel
          </button>
        </form>
      ) : (
        <button type="button" class="link" onClick={() => setDraft({ key: '', value: '' })}>
          Add tag
        </button>
      )}
      <SaveError error={save.error} />
    </div>
  );
}
