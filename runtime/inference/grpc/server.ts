/**
 * The Open Inference Protocol over gRPC (`inference.GRPCInferenceService`) on its own port, over the
 * same data plane as REST: one batcher, one parser and validation (the request becomes the v2 body it
 * means), one request metric (protocol "grpc", code = the HTTP status the same answer has over REST).
 * Errors are gRPC status codes: INVALID_ARGUMENT for bad input, NOT_FOUND for another model, UNAVAILABLE
 * when the queue is full or the server drains, RESOURCE_EXHAUSTED (grpc-js) above the message size cap.
 */
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import type { FastifyBaseLogger } from 'fastify';
import type { DataPlane } from '../data-plane';
import { errorStatus } from '../errors';
import type { LoadedModel } from '../model';
import { modelMetadata, parseInferRequest } from '../protocols/v2';
import { inferRequestBody, inferResponse, type ModelInferRequest } from './tensors';
import { HEALTH_PROTO, PREDICT_V2_PROTO } from './service-proto';

export interface GrpcFrontOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Largest request message in bytes (the REST body limit). */
  maxMessageBytes: number;
  /** ServerMetadata's name and version. */
  serverName: string;
  serverVersion: string;
}

export interface RunningGrpcFront {
  /** host:port the server listens on. */
  address: string;
  port: number;
  /** Stops accepting calls and resolves when the ones in flight are answered. */
  close(): Promise<void>;
}

const LOADER = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

function service(protoText: string, path: string[]): grpc.ServiceDefinition {
  const definition = fromJSON(protobuf.parse(protoText, { keepCase: true }).root.toJSON(), LOADER);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as Record<string, unknown>;
  const ctor = path.reduce<unknown>((o, key) => (o as Record<string, unknown>)[key], pkg) as { service: grpc.ServiceDefinition };
  return ctor.service;
}

/** The gRPC code for what REST answers with `status`. */
function grpcCode(status: number): grpc.status {
  if (status === 404) return grpc.status.NOT_FOUND;
  if (status === 503) return grpc.status.UNAVAILABLE;
  if (status === 413) return grpc.status.RESOURCE_EXHAUSTED;
  if (status >= 400 && status < 500) return grpc.status.INVALID_ARGUMENT;
  return grpc.status.INTERNAL;
}

class DrainingError extends Error {
  readonly statusCode = 503;
}

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => void;

/** A unary handler whose thrown or rejected errors become status codes (500s logged). */
function unary<Req, Res>(log: FastifyBaseLogger, answer: (request: Req) => Res | Promise<Res>): Unary<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => answer(call.request))
      .then(
        (response) => callback(null, response),
        (err: unknown) => {
          const { status, message } = errorStatus(err);
          if (status >= 500 && status !== 503) log.error({ err }, 'gRPC call failed');
          callback({ code: grpcCode(status), details: message });
        },
      );
  };
}

function ensureServing(plane: DataPlane): void {
  if (plane.closing) throw new DrainingError('the server is shutting down');
}

/** ModelInfer: counted like REST requests, by the status REST would answer. */
function modelInfer(plane: DataPlane): (req: ModelInferRequest) => Promise<unknown> {
  return async (req) => {
    const started = performance.now();
    let model: LoadedModel = plane.current;
    let status = 200;
    try {
      ensureServing(plane);
      model = plane.modelFor(req.model_name, req.model_version || undefined);
      const parsed = parseInferRequest(model, inferRequestBody(req));
      const outputs = await plane.predict(model, parsed.feeds, parsed.outputs);
      return inferResponse(model, parsed.id, outputs);
    } catch (err) {
      status = errorStatus(err).status;
      throw err;
    } finally {
      plane.metrics.recordRequest(model.name, 'grpc', status, (performance.now() - started) / 1000);
    }
  };
}

function handlers(plane: DataPlane, opts: GrpcFrontOptions, log: FastifyBaseLogger): grpc.UntypedServiceImplementation {
  const named = (req: { name: string; version: string }) => plane.modelFor(req.name, req.version || undefined);
  return {
    ServerLive: unary(log, () => ({ live: true })),
    ServerReady: unary(log, () => ({ ready: plane.ready() })),
    ModelReady: unary(log, (req: { name: string; version: string }) => (named(req), { ready: plane.ready() })),
    ServerMetadata: unary(log, () => ({ name: opts.serverName, version: opts.serverVersion, extensions: [] })),
    ModelMetadata: unary(log, (req: { name: string; version: string }) => modelMetadata(named(req))),
    ModelInfer: unary(log, modelInfer(plane)),
  };
}

/**
 * grpc.health.v1: the server as a whole ("", what a Kubernetes liveness probe asks) is SERVING while the
 * process answers, so draining never looks like a hang; the inference service is NOT_SERVING while it drains.
 */
function health(plane: DataPlane, log: FastifyBaseLogger): grpc.UntypedServiceImplementation {
  return {
    Check: unary(log, (req: { service: string }) => {
      if (req.service === '') return { status: 'SERVING' };
      if (req.service !== 'inference.GRPCInferenceService') throw Object.assign(new Error(`unknown service '${req.service}'`), { statusCode: 404 });
      return { status: plane.ready() ? 'SERVING' : 'NOT_SERVING' };
    }),
  };
}

export async function startGrpcFront(plane: DataPlane, opts: GrpcFrontOptions, log: FastifyBaseLogger): Promise<RunningGrpcFront> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': opts.maxMessageBytes });
  server.addService(service(PREDICT_V2_PROTO, ['inference', 'GRPCInferenceService']), handlers(plane, opts, log));
  server.addService(service(HEALTH_PROTO, ['grpc', 'health', 'v1', 'Health']), health(plane, log));
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  const urlHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : host;
  return {
    address: `${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
}
