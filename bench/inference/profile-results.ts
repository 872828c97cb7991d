/** What one `npm run bench:inference:profile` run found, as written to bench/results/inference-profile-<time>.json. */
export interface ProfileShare {
  /** An origin (profile.ts origin()) or a frame (`function file:line`). */
  name: string;
  origin: string;
  /** µs of HTTP-thread CPU per request: the share of non-idle samples times the thread's CPU from /proc. */
  us: number;
  /** Share of the non-idle samples, 0..1. */
  share: number;
}

export interface ProfileResults {
  date: string;
  cpus: number;
  loadavgAtStart: number[];
  model: string;
  target: string;
  rows: number;
  clients: number;
  /** `--workers` given to the server; undefined = its default (one per core). */
  workers?: number;
  seconds: number;
  requests: number;
  rps: number;
  rowsPerRun: number;
  threadCpuUs: number;
  origins: ProfileShare[];
  frames: ProfileShare[];
}
