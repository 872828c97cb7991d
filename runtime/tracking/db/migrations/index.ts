import type { Migration } from 'kysely';
import * as m0001 from './0001_tracking';
import * as m0002 from './0002_search_indexes';
import * as m0003 from './0003_registry';
import * as m0004 from './0004_auth';
import * as m0005 from './0005_logged_model_metrics';
import * as m0006 from './0006_username_keys';
import * as m0007 from './0007_traces';
import * as m0008 from './0008_metrics_run_lock';

/**
 * Every schema version, in order. Names sort lexically (NNNN_name) and are recorded in the database,
 * so never rename or edit a shipped migration: add the next one here.
 */
export const migrations: Record<string, Migration> = {
  '0001_tracking': m0001,
  '0002_search_indexes': m0002,
  '0003_registry': m0003,
  '0004_auth': m0004,
  '0005_logged_model_metrics': m0005,
  '0006_username_keys': m0006,
  '0007_traces': m0007,
  '0008_metrics_run_lock': m0008,
};
