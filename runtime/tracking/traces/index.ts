/** MLflow 3 traces: their store, routes and entities. */
export { TraceStore, type TraceInfoInput, type TraceSearch, type DeleteTracesRequest } from './store';
export { AssessmentStore, type AssessmentInput, type AssessmentUpdate } from './assessments';
export { traceV2Routes, traceV3Routes, tracesFeature } from './routes';
export * from './entities';
export { experimentsOfTraceRequest, type TraceRequestSource } from './request-experiments';
