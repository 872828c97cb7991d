/** bench.ts's three server configurations, as its samples are labelled: batching with sessions on worker threads, on the HTTP thread, and no batching. */
export const BATCHING = { threads: 'on (max 32)', inline: 'on, --workers 0', off: 'off' } as const;

/** Names of the recorded in-process rates: bench.ts's single-row rate per model, peers.ts's rate per batch size. */
export const inProcessOfModel = (model: string) => `${model} in-process rows/s`;
export const inProcessOfRows = (rows: number) => `in-process rows/s, ${rows}-row`;

/** Whether a sample's server is ours (any `mlops serve` configuration) rather than a peer. */
export const isOurs = (server: string) => server.startsWith('mlops serve');

/** The server name of Node's HTTP floor samples (floor.ts). */
export const FLOOR = 'node:http floor';

/** Requests per second that `cores` cores shared by a server costing what `m` cost and its load generator cannot pass. */
export const ceilingRps = (m: { serverCpuUs?: number; clientCpuUs?: number }, cores: number): number => (cores * 1e6) / (m.serverCpuUs! + m.clientCpuUs!);
