import type { RuleGroup } from './types';

/*
 * Recording rules for what the alerts and the dashboards share, named `level:metric:operations`
 * (https://prometheus.io/docs/practices/rules/). Ratios exclude 503 from "errors": a 503 is a refusal
 * (queue full, draining, backend store unavailable) and has its own alert.
 */

const SERVER_ERROR = 'code=~"5..",code!="503"';

/** Inference: per namespace and model (both tracks of a model answer to its name). */
export const INFERENCE_RECORDS: RuleGroup = {
  name: 'mlops-inference.records',
  rules: [
    { record: 'namespace_model_code:mlops_inference_requests:rate5m', expr: 'sum by (namespace, model, code) (rate(mlops_inference_requests_total[5m]))' },
    {
      record: 'namespace_model:mlops_inference_error_ratio:rate5m',
      expr: `sum by (namespace, model) (rate(mlops_inference_requests_total{${SERVER_ERROR}}[5m])) / sum by (namespace, model) (rate(mlops_inference_requests_total[5m]))`,
    },
    {
      record: 'namespace_model:mlops_inference_unavailable_ratio:rate5m',
      expr: 'sum by (namespace, model) (rate(mlops_inference_requests_total{code="503"}[5m])) / sum by (namespace, model) (rate(mlops_inference_requests_total[5m]))',
    },
    {
      record: 'namespace_model:mlops_inference_request_duration_seconds:p99_5m',
      expr: 'histogram_quantile(0.99, sum by (namespace, model, le) (rate(mlops_inference_request_duration_seconds_bucket[5m])))',
    },
    {
      record: 'namespace_model:mlops_inference_request_duration_seconds:p50_5m',
      expr: 'histogram_quantile(0.5, sum by (namespace, model, le) (rate(mlops_inference_request_duration_seconds_bucket[5m])))',
    },
    {
      record: 'namespace_model:mlops_inference_batch_size:mean5m',
      expr: 'sum by (namespace, model) (rate(mlops_inference_batch_size_sum[5m])) / sum by (namespace, model) (rate(mlops_inference_batch_size_count[5m]))',
    },
  ],
};

/** Tracking: per namespace, and per route for the dashboard's breakdowns. */
export const TRACKING_RECORDS: RuleGroup = {
  name: 'mlops-tracking.records',
  rules: [
    { record: 'namespace_route_status:mlflow_http_requests:rate5m', expr: 'sum by (namespace, route, status) (rate(mlflow_http_requests_total[5m]))' },
    {
      record: 'namespace:mlflow_http_error_ratio:rate5m',
      expr: 'sum by (namespace) (rate(mlflow_http_requests_total{status=~"5..",status!="503"}[5m])) / sum by (namespace) (rate(mlflow_http_requests_total[5m]))',
    },
    {
      record: 'namespace:mlflow_http_unavailable_ratio:rate5m',
      expr: 'sum by (namespace) (rate(mlflow_http_requests_total{status="503"}[5m])) / sum by (namespace) (rate(mlflow_http_requests_total[5m]))',
    },
    {
      record: 'namespace:mlflow_http_write_duration_seconds:p99_5m',
      expr: 'histogram_quantile(0.99, sum by (namespace, le) (rate(mlflow_http_request_duration_seconds_bucket{method=~"POST|PUT|PATCH|DELETE"}[5m])))',
    },
    {
      record: 'namespace_route:mlflow_http_request_duration_seconds:p99_5m',
      expr: 'histogram_quantile(0.99, sum by (namespace, route, le) (rate(mlflow_http_request_duration_seconds_bucket[5m])))',
    },
  ],
};
