import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PoolStats } from '../db/connection';

/** Per-app Prometheus registry (no global state): request counts and latency by route template. */
export function registerRequestMetrics(app: FastifyInstance): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'mlflow_http_requests_total',
    help: 'HTTP requests served, by method, route template and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'mlflow_http_request_duration_seconds',
    help: 'HTTP request latency in seconds, by method and route template.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route template, never the raw URL, so label cardinality stays bounded.
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  return registry;
}

/** The PostgreSQL connection pool's state, read at scrape time: what the tracking dashboard's DB pool panel draws. */
export function registerPoolMetrics(registry: Registry, poolStats: () => PoolStats): void {
  new Gauge({
    name: 'mlflow_db_pool_connections',
    help: 'Backend store (PostgreSQL) pool connections, by state (idle, in_use).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const s = poolStats();
      this.set({ state: 'idle' }, s.idle);
      this.set({ state: 'in_use' }, s.total - s.idle);
    },
  });
  new Gauge({
    name: 'mlflow_db_pool_waiting_queries',
    help: 'Queries waiting for a pooled connection.',
    registers: [registry],
    collect() {
      this.set(poolStats().waiting);
    },
  });
  new Gauge({
    name: 'mlflow_db_pool_max_connections',
    help: 'Size limit of the pool (MLOPS_TRACKING_DB_POOL_SIZE).',
    registers: [registry],
    collect() {
      this.set(poolStats().max);
    },
  });
}
