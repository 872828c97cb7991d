import { useMemo, useState } from 'preact/hooks';
import { artifactUrl, type FileInfo, type RunInfo } from '../api';
import { formatTime } from '../format';
import { useLoad } from '../hooks';
import { collectArtifacts } from './artifact-source';
import { Empty, ErrorState, Loading } from './states';

/** One `log_image(key=, step=)` file, with its compressed copy when the client wrote one. */
export interface StepImage {
  key: string;
  step: number;
  timestamp: number;
  path: string;
  thumbnail?: string;
}

/**
 * The file names MLflow's client gives key+step images (mlflow/tracking/client.py `log_image`):
 * `images/<key>+step+<step>+timestamp+<ms>+<uuid>.png` and `…+compressed.webp`, where `/` in the key is
 * written `~` (older clients: `#`, and `%` instead of `+`).
 */
const NAME = /^images\/(.+?)[+%]step[+%](-?\d+)[+%]timestamp[+%](\d+)[+%]([0-9a-fA-F-]+)([+%]compressed)?\.(png|webp|jpe?g)$/;

export function parseStepImages(files: FileInfo[]): Map<string, StepImage[]> {
  const byId = new Map<string, StepImage>();
  for (const f of files) {
    const m = NAME.exec(f.path);
    if (!m || f.is_dir) continue;
    const [, rawKey, step, timestamp, uuid, compressed] = m;
    const entry = byId.get(uuid) ?? { key: rawKey.replace(/[~#]/g, '/'), step: Number(step), timestamp: Number(timestamp), path: '' };
    if (compressed) entry.thumbnail = f.path;
    else entry.path = f.path;
    byId.set(uuid, entry);
  }
  const byKey = new Map<string, StepImage[]>();
  for (const img of byId.values()) {
    if (!img.path) continue; // a compressed copy whose original is missing
    byKey.set(img.key, [...(byKey.get(img.key) ?? []), img]);
  }
  for (const list of byKey.values()) list.sort((a, b) => a.step - b.step || a.timestamp - b.timestamp);
  return new Map([...byKey.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

function ImageCard({ run, imageKey, images }: { run: RunInfo; imageKey: string; images: StepImage[] }) {
  const [index, setIndex] = useState(images.length - 1);
  const img = images[Math.min(index, images.length - 1)];
  return (
    <article class="image-card" data-image-key={imageKey} data-step={img.step}>
      <header>
        <h3 title={imageKey}>{imageKey}</h3>
      </header>
      <a href={artifactUrl(run, img.path)} target="_blank" rel="noopener">
        <img src={artifactUrl(run, img.thumbnail ?? img.path)} alt={`${imageKey} at step ${img.step}`} loading="lazy" />
      </a>
      <label class="step-slider">
        <span>
          Step <strong>{img.step}</strong> <span class="muted">({formatTime(img.timestamp)})</span>
        </span>
        <input
          type="range"
          min={0}
          max={images.length - 1}
          step={1}
          value={index}
          disabled={images.length < 2}
          aria-label={`Step of ${imageKey}`}
          aria-valuetext={`step ${img.step}`}
          onInput={(e) => setIndex(Number((e.target as HTMLInputElement).value))}
        />
      </label>
    </article>
  );
}

/** Images logged with `mlflow.log_image(image, key=, step=)`: one card per key, a slider over its steps. */
export function ImageGrid({ run }: { run: RunInfo }) {
  const listing = useLoad(() => collectArtifacts({ kind: 'run', run }, 'images'), [run.run_id]);
  const byKey = useMemo(() => (listing.state === 'ok' ? parseStepImages(listing.data) : new Map<string, StepImage[]>()), [listing]);
  if (listing.state === 'loading') return <Loading what="images" />;
  if (listing.state === 'error') return <ErrorState error={listing.error} what="images" />;
  if (!byKey.size)
    return (
      <Empty>
        No images logged by key and step. Log some with <code>mlflow.log_image(image, key="…", step=step)</code>.
      </Empty>
    );
  return (
    <div class="cards image-cards" aria-label="Images">
      {[...byKey.entries()].map(([key, images]) => (
        <ImageCard key={key} run={run} imageKey={key} images={images} />
      ))}
    </div>
  );
}
