import type { FastifyReply } from 'fastify';
import { MlflowError } from '../http/errors';

const UNAUTHENTICATED_MESSAGE =
  'You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.';

/** 401 with the Basic challenge, in MLflow's words. */
export function unauthenticated(reply: FastifyReply): FastifyReply {
  return reply.code(401).header('www-authenticate', 'Basic realm="mlflow"').send(new MlflowError('UNAUTHENTICATED', UNAUTHENTICATED_MESSAGE).toJSON());
}

export function forbidden(reply: FastifyReply): FastifyReply {
  return reply.code(403).send(new MlflowError('PERMISSION_DENIED', 'Permission denied').toJSON());
}
