import { useState } from 'preact/hooks';
import { api, ApiError, artifactUrl, type FileInfo, type RunInfo } from '../api';
import { formatBytes } from '../format';
import { useLoad } from '../hooks';
import { Empty, ErrorState, Loading } from './states';

const IMAGE = /\.(png|jpe?g|gif|svg|webp|bmp)$/i;
const TEXT = /(\.(txt|log|json|ya?ml|csv|tsv|md|py|ts|js|sh|cfg|ini|toml|xml|html|sql)|(^|\/)(MLmodel|requirements\.txt|conda\.yaml|python_env\.yaml|Dockerfile))$/i;
/** Text previews stop here; the download link has the whole file. */
const PREVIEW_BYTES = 256 * 1024;

function Directory(props: { run: RunInfo; path: string; files?: FileInfo[]; selected?: string; onSelect: (f: FileInfo) => void }) {
  const { run, path, selected, onSelect } = props;
  const listing = useLoad(async () => props.files ?? collect(run.run_id, path), [run.run_id, path]);
  const [open, setOpen] = useState<Set<string>>(new Set());
  if (listing.state === 'loading') return <Loading what="artifacts" />;
  if (listing.state === 'error') return <ErrorState error={listing.error} what="artifacts" />;
  if (!listing.data.length) {
    return <div class="muted">(empty folder)</div>;
  }
  return (
    <ul class="tree" role={path ? 'group' : 'tree'} aria-label={path ? undefined : 'Artifacts'}>
      {listing.data.map((f) => {
        const name = f.path.split('/').pop();
        if (f.is_dir) {
          const isOpen = open.has(f.path);
          return (
            <li key={f.path} role="treeitem" aria-expanded={isOpen}>
              <button
                type="button"
                class="link"
                onClick={() => {
                  const next = new Set(open);
                  if (isOpen) next.delete(f.path);
                  else next.add(f.path);
                  setOpen(next);
                }}
              >
                {isOpen ? '▾' : '▸'} {name}/
              </button>
              {isOpen && <Directory run={run} path={f.path} selected={selected} onSelect={onSelect} />}
            </li>
          );
        }
        return (
          <li key={f.path} role="treeitem" aria-selected={selected === f.path}>
            <button type="button" class={`link ${selected === f.path ? 'active' : ''}`} onClick={() => onSelect(f)}>
              {name}
            </button>{' '}
            <span class="muted">{formatBytes(f.file_size)}</span>
          </li>
        );
      })}
    </ul>
  );
}

/** Every page of one folder's listing. */
async function collect(runId: string, path: string): Promise<FileInfo[]> {
  const files: FileInfo[] = [];
  let token: string | undefined;
  do {
    const page = await api.listArtifacts(runId, path, token);
    files.push(...(page.files ?? []));
    token = page.next_page_token;
  } while (token);
  return files.sort((a, b) => Number(!!b.is_dir) - Number(!!a.is_dir) || a.path.localeCompare(b.path));
}

function Preview({ run, file }: { run: RunInfo; file: FileInfo }) {
  const url = artifactUrl(run, file.path);
  const isText = TEXT.test(file.path);
  const text = useLoad(async () => {
    if (!isText) return '';
    const res = await fetch(url, { credentials: 'same-origin' });
    if (!res.ok) throw new ApiError(res.status, `HTTP_${res.status}`, `the server answered ${res.status} ${res.statusText}`);
    const body = await res.text();
    return body.length > PREVIEW_BYTES ? `${body.slice(0, PREVIEW_BYTES)}\n… (truncated; download the file to see all of it)` : body;
  }, [url]);
  return (
    <div class="preview">
      <div class="preview-head">
        <strong class="mono">{file.path}</strong> <span class="muted">{formatBytes(file.file_size)}</span>{' '}
        <a href={url} download={file.path.split('/').pop()}>
          Download
        </a>
      </div>
      {IMAGE.test(file.path) ? (
        <img src={url} alt={file.path} />
      ) : isText ? (
        text.state === 'loading' ? (
          <Loading what={file.path} />
        ) : text.state === 'error' ? (
          <ErrorState error={text.error} what={file.path} />
        ) : (
          <pre class="text-preview">{text.data}</pre>
        )
      ) : (
        <Empty>No preview for this file type. Use Download to open it.</Empty>
      )}
    </div>
  );
}

export function ArtifactBrowser({ run }: { run: RunInfo }) {
  const [file, setFile] = useState<FileInfo>();
  const root = useLoad(() => collect(run.run_id, ''), [run.run_id]);
  if (root.state === 'loading') return <Loading what="artifacts" />;
  if (root.state === 'error') return <ErrorState error={root.error} what="artifacts" />;
  if (!root.data.length) return <Empty>This run has no artifacts. Log some with <code>mlflow.log_artifact(path)</code>.</Empty>;
  return (
    <div class="artifacts">
      <div class="artifact-tree">
        <Directory run={run} path="" files={root.data} selected={file?.path} onSelect={setFile} />
      </div>
      <div class="artifact-preview">{file ? <Preview run={run} file={file} /> : <div class="muted">Choose a file to preview it.</div>}</div>
    </div>
  );
}
