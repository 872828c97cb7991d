import { useState } from 'preact/hooks';
import { ApiError, sourceUrl, type ArtifactSource, type FileInfo, type LoggedModel, type RunInfo } from '../api';
import { formatBytes } from '../format';
import { useLoad } from '../hooks';
import { collectArtifacts, sourceKey } from './artifact-source';
import { Empty, ErrorState, Loading } from './states';
import { parseLoggedTable, TablePreview } from './TablePreview';

const IMAGE = /\.(png|jpe?g|gif|svg|webp|bmp)$/i;
const TEXT =
  /(\.(txt|log|json|ya?ml|csv|tsv|md|py|ts|js|sh|cfg|ini|toml|xml|html|sql)|(^|\/)(MLmodel|requirements\.txt|conda\.yaml|python_env\.yaml|Dockerfile))$/i;
/** Text previews stop here; the download link has the whole file. */
const PREVIEW_BYTES = 256 * 1024;
/** A JSON file up to this size is tried as a `log_table` table (the whole file has to be parsed). */
const TABLE_BYTES = 8 * 1024 * 1024;

interface Selection {
  source: ArtifactSource;
  file: FileInfo;
}

function Directory(props: {
  source: ArtifactSource;
  path: string;
  files?: FileInfo[];
  selected?: Selection;
  onSelect: (s: Selection) => void;
  label?: string;
}) {
  const { source, path, selected, onSelect } = props;
  const listing = useLoad(async () => props.files ?? collectArtifacts(source, path), [sourceKey(source), path]);
  const [open, setOpen] = useState<Set<string>>(new Set());
  if (listing.state === 'loading') return <Loading what="artifacts" />;
  if (listing.state === 'error') return <ErrorState error={listing.error} what="artifacts" />;
  if (!listing.data.length) return <div class="muted">(empty folder)</div>;
  const isSelected = (f: FileInfo) => selected?.file.path === f.path && sourceKey(selected.source) === sourceKey(source);
  return (
    <ul class="tree" role={path ? 'group' : 'tree'} aria-label={path ? undefined : props.label}>
      {listing.data.map((f) => {
        const name = f.path.split('/').pop();
        if (f.is_dir) {
          const isOpen = open.has(f.path);
          const toggle = () => {
            const next = new Set(open);
            if (isOpen) next.delete(f.path);
            else next.add(f.path);
            setOpen(next);
          };
          return (
            <li key={f.path} role="treeitem" aria-expanded={isOpen}>
              <button type="button" class="link" onClick={toggle}>
                {isOpen ? '▾' : '▸'} {name}/
              </button>
              {isOpen && <Directory source={source} path={f.path} selected={selected} onSelect={onSelect} />}
            </li>
          );
        }
        return (
          <li key={f.path} role="treeitem" aria-selected={isSelected(f)}>
            <button type="button" class={`link ${isSelected(f) ? 'active' : ''}`} onClick={() => onSelect({ source, file: f })}>
              {name}
            </button>{' '}
            <span class="muted">{formatBytes(f.file_size)}</span>
          </li>
        );
      })}
    </ul>
  );
}

type TextPreview = { kind: 'text'; text: string } | { kind: 'table'; table: NonNullable<ReturnType<typeof parseLoggedTable>> };

async function loadText(url: string, isJson: boolean, size: number): Promise<TextPreview> {
  const res = await fetch(url, { credentials: 'same-origin' });
  if (!res.ok) throw new ApiError(res.status, `HTTP_${res.status}`, `the server answered ${res.status} ${res.statusText}`);
  const body = await res.text();
  const table = isJson && size <= TABLE_BYTES ? parseLoggedTable(body) : undefined;
  if (table) return { kind: 'table', table };
  return { kind: 'text', text: body.length > PREVIEW_BYTES ? `${body.slice(0, PREVIEW_BYTES)}\n… (truncated; download the file to see all of it)` : body };
}

function Preview({ source, file }: Selection) {
  const url = sourceUrl(source, file.path);
  const isText = TEXT.test(file.path);
  const isJson = /\.json$/i.test(file.path);
  const text = useLoad(async () => (isText ? loadText(url, isJson, Number(file.file_size ?? 0)) : undefined), [url]);
  let body;
  if (IMAGE.test(file.path)) body = <img class="artifact-image" src={url} alt={file.path} />;
  else if (!isText) body = <Empty>No preview for this file type. Use Download to open it.</Empty>;
  else if (text.state === 'loading') body = <Loading what={file.path} />;
  else if (text.state === 'error') body = <ErrorState error={text.error} what={file.path} />;
  else if (text.data?.kind === 'table') body = <TablePreview table={text.data.table} />;
  else body = <pre class="text-preview">{text.data?.text}</pre>;
  return (
    <div class="preview">
      <div class="preview-head">
        <strong class="mono">{file.path}</strong> <span class="muted">{formatBytes(file.file_size)}</span>{' '}
        <a href={url} download={file.path.split('/').pop()}>
          Download
        </a>
      </div>
      {body}
    </div>
  );
}

/**
 * The run's artifacts and, beside them, the files of each MLflow 3 logged model the run produced (the
 * client writes a model under the logged model's own location, not under the run), with one preview.
 */
export function ArtifactBrowser({ run, models = [] }: { run: RunInfo; models?: LoggedModel[] }) {
  const [selected, setSelected] = useState<Selection>();
  const runSource: ArtifactSource = { kind: 'run', run };
  const root = useLoad(() => collectArtifacts(runSource, ''), [run.run_id]);
  if (root.state === 'loading') return <Loading what="artifacts" />;
  if (root.state === 'error') return <ErrorState error={root.error} what="artifacts" />;
  if (!root.data.length && !models.length) {
    return (
      <Empty>
        This run has no artifacts. Log some with <code>mlflow.log_artifact(path)</code>.
      </Empty>
    );
  }
  return (
    <div class="artifacts">
      <div class="artifact-tree">
        {root.data.length ? (
          <Directory source={runSource} path="" files={root.data} selected={selected} onSelect={setSelected} label="Artifacts" />
        ) : (
          <div class="muted">No run artifacts.</div>
        )}
        {models.map((m) => (
          <div class="model-tree" key={m.info.model_id} data-model-id={m.info.model_id}>
            <h3>
              Logged model <span class="mono">{m.info.name}</span>
            </h3>
            <Directory
              source={{ kind: 'model', modelId: m.info.model_id }}
              path=""
              selected={selected}
              onSelect={setSelected}
              label={`Files of ${m.info.name}`}
            />
          </div>
        ))}
      </div>
      <div class="artifact-preview">{selected ? <Preview {...selected} /> : <div class="muted">Choose a file to preview it.</div>}</div>
    </div>
  );
}
