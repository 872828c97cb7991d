import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import { HEALTH_PROTO } from '../../runtime/inference/grpc/service-proto';

interface HealthClient extends grpc.Client {
  Check(request: { service: string }, callback: (err: grpc.ServiceError | null, response?: { status: string }) => void): void;
}

/** What a Kubernetes gRPC probe asks: grpc.health.v1.Health/Check(service) answers SERVING. */
export function grpcHealthServing(address: string, service = ''): Promise<boolean> {
  const definition = fromJSON(protobuf.parse(HEALTH_PROTO, { keepCase: true }).root.toJSON(), { keepCase: true, enums: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: new (address: string, creds: grpc.ChannelCredentials) => HealthClient } } };
  };
  const client = new pkg.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.Check({ service }, (err, response) => {
      client.close();
      resolve(!err && response?.status === 'SERVING');
    });
  });
}
