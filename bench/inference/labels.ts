/** bench.ts's three server configurations, as its samples are labelled: batching with sessions on worker threads, on the HTTP thread, and no batching. */
export const BATCHING = { threads: 'on (max 32)', inline: 'on, --workers 0', off: 'off' } as const;
