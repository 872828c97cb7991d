import { api, type ArtifactSource, type FileInfo } from '../api';

/** Most listings a folder may take (each a page of the server's listing): enough for any real folder, and a stop for a broken token loop. */
const MAX_PAGES = 50;

/** Every page of one folder's listing, folders first: of the run's artifact root or of a logged model's. */
export async function collectArtifacts(source: ArtifactSource, path: string): Promise<FileInfo[]> {
  const files: FileInfo[] = [];
  let token: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = source.kind === 'run' ? await api.listArtifacts(source.run.run_id, path, token) : await api.listLoggedModelArtifacts(source.modelId, path);
    files.push(...(res.files ?? []));
    token = source.kind === 'run' ? res.next_page_token : undefined;
    if (!token) break;
  }
  return files.sort((a, b) => Number(!!b.is_dir) - Number(!!a.is_dir) || a.path.localeCompare(b.path));
}

/** A stable identity for a source, for React keys and "is this file the selected one". */
export function sourceKey(source: ArtifactSource): string {
  return source.kind === 'run' ? `run:${source.run.run_id}` : `model:${source.modelId}`;
}
