import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { syncPlugin, type SearchPager, type TrackingPlugin } from '../plugin';
import { findArtifactOwner } from '../artifacts';
import { VIEW_TYPES } from './entities';
import { int64, parseRequest, protoEnum } from '../http/request';

const keyValue = z.object({ key: z.string(), value: z.string().default('') });
const experimentId = z.string({ error: 'expected a string' });

const createSchema = z.object({ name: z.string(), artifact_location: z.string().optional(), tags: z.array(keyValue).default([]) });
const getSchema = z.object({ experiment_id: experimentId });
const getByNameSchema = z.object({ experiment_name: z.string() });
const searchSchema = z.object({
  max_results: int64.optional(),
  page_token: z.string().optional(),
  filter: z.string().optional(),
  order_by: z.array(z.string()).default([]),
  view_type: protoEnum(VIEW_TYPES).default('ACTIVE_ONLY'),
});
const updateSchema = z.object({ experiment_id: experimentId, new_name: z.string() });
const setTagSchema = z.object({ experiment_id: experimentId, key: z.string(), value: z.string() });
const deleteTagSchema = z.object({ experiment_id: experimentId, key: z.string() });

/** /experiments/*: MLflow's experiment endpoints (service.proto: CreateExperiment … DeleteExperimentTag). */
export const experimentRoutes: TrackingPlugin = syncPlugin((app, { store, connection, artifactRoots }) => {
  app.post('/experiments/create', async (request) => {
    const req = parseRequest(request, createSchema);
    // A chosen location is checked against the server's artifact roots and stored canonical; without
    // auth (request.user null) the single user has an admin's choice.
    const location = req.artifact_location
      ? await artifactRoots.checkNewLocation(req.artifact_location, { privileged: request.user === null || request.userIsAdmin }, (loc) =>
          findArtifactOwner(connection.db, loc),
        )
      : undefined;
    return { experiment_id: await store.createExperiment(req.name, location, req.tags) };
  });

  app.get('/experiments/get', async (request) => {
    const req = parseRequest(request, getSchema);
    return { experiment: await store.getExperiment(req.experiment_id) };
  });

  app.get('/experiments/get-by-name', async (request) => {
    const req = parseRequest(request, getByNameSchema);
    return { experiment: await store.getExperimentByName(req.experiment_name) };
  });

  const searchPage: SearchPager = async (request, page) => {
    const req = parseRequest(request, searchSchema, ['order_by']);
    return store.searchExperiments({
      viewType: req.view_type,
      maxResults: page?.maxResults ?? req.max_results,
      filter: req.filter,
      orderBy: req.order_by,
      pageToken: page?.pageToken ?? req.page_token,
    });
  };
  const search = async (request: FastifyRequest) => searchPage(request);
  app.post('/experiments/search', { config: { searchPage } }, search);
  app.get('/experiments/search', { config: { searchPage } }, search);

  app.post('/experiments/update', async (request) => {
    const req = parseRequest(request, updateSchema);
    await store.updateExperiment(req.experiment_id, req.new_name);
    return {};
  });

  app.post('/experiments/delete', async (request) => {
    await store.deleteExperiment(parseRequest(request, getSchema).experiment_id);
    return {};
  });

  app.post('/experiments/restore', async (request) => {
    await store.restoreExperiment(parseRequest(request, getSchema).experiment_id);
    return {};
  });

  app.post('/experiments/set-experiment-tag', async (request) => {
    const req = parseRequest(request, setTagSchema);
    await store.setExperimentTag(req.experiment_id, req.key, req.value);
    return {};
  });

  app.post('/experiments/delete-experiment-tag', async (request) => {
    const req = parseRequest(request, deleteTagSchema);
    await store.deleteExperimentTag(req.experiment_id, req.key);
    return {};
  });
});
