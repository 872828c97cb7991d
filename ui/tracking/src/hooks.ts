import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';

export type Loaded<T> = { state: 'loading' } | { state: 'error'; error: ApiError } | { state: 'ok'; data: T };

/**
 * Runs `load` whenever `deps` change; a stale answer (deps changed meanwhile) is dropped. With `keep`,
 * a reload keeps showing the last answer until the new one arrives (a page refreshed after an edit
 * does not flash back to "Loading…").
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], opts: { keep?: boolean } = {}): Loaded<T> {
  const [result, setResult] = useState<Loaded<T>>({ state: 'loading' });
  useEffect(() => {
    let live = true;
    if (!opts.keep) setResult({ state: 'loading' });
    load().then(
      (data) => live && setResult({ state: 'ok', data }),
      (e: unknown) => live && setResult({ state: 'error', error: e instanceof ApiError ? e : new ApiError(0, 'CLIENT_ERROR', String(e)) }),
    );
    return () => {
      live = false;
    };
  }, deps);
  return result;
}

/**
 * True once the element has come near the viewport (and stays true): a grid of a hundred metric
 * charts asks the server only for the ones someone scrolls to.
 */
export function useSeen(ref: { current: Element | null }, margin = '200px'): boolean {
  const [seen, setSeen] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (seen || !el) return;
    if (typeof IntersectionObserver === 'undefined') {
      setSeen(true);
      return;
    }
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          setSeen(true);
          observer.disconnect();
        }
      },
      { rootMargin: margin },
    );
    observer.observe(el);
    return () => observer.disconnect();
  }, [seen, ref.current]);
  return seen;
}
