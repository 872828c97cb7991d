import { syncPlugin, type TrackingFeature, type TrackingPlugin } from '../plugin';

/**
 * GET /api/3.0/mlflow/server-info (MLflow 3's build_server_info_payload): what the server offers.
 * The 3.x client asks on start (telemetry, workspace support) and before proxied artifact
 * transfers (multipart capability); every capability this server lacks is reported false.
 */
export const serverInfoRoutes: TrackingPlugin = syncPlugin((app) => {
  app.get('/server-info', () => ({
    // A SQL store (SQLite or PostgreSQL), as MLflow names its SqlAlchemyStore.
    store_type: 'SqlStore',
    workspaces_enabled: false,
    trace_archival_enabled: false,
    multipart_uploads_enabled: false,
    multipart_downloads_enabled: false,
    presigned_upload_run_id_supported: false,
    presigned_upload_model_id_supported: false,
    features_enabled: { gateway: false },
  }));
});

export const serverInfoFeature: TrackingFeature = { v3Plugins: [serverInfoRoutes] };
