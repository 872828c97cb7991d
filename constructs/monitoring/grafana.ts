/*
 * A small typed model of the Grafana dashboard JSON the platform ships (schemaVersion 39, Grafana 10/11):
 * time-series and stat panels over one Prometheus datasource variable, laid out on Grafana's 24-column
 * grid in rows of equal-width panels. Only the fields our dashboards use; Grafana fills the rest.
 */

export const DASHBOARD_SCHEMA_VERSION = 39;
const GRID_COLUMNS = 24;

export interface Query {
  readonly expr: string;
  /** Series legend, e.g. `{{route}}`. */
  readonly legend?: string;
}

export interface PanelSpec {
  readonly title: string;
  readonly type?: 'timeseries' | 'stat';
  /** Grafana unit id: `reqps`, `s`, `percentunit`, `short`… */
  readonly unit?: string;
  readonly queries: readonly Query[];
  readonly description?: string;
}

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly tags: readonly string[];
  /** Rows of panels, each row split evenly across the grid. */
  readonly rows: ReadonlyArray<readonly PanelSpec[]>;
  /** Template variables over label values (`label_values(metric, label)`), e.g. the model. */
  readonly variables?: ReadonlyArray<{ readonly name: string; readonly query: string }>;
}

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: GridPos;
  datasource: { type: 'prometheus'; uid: '${datasource}' };
  fieldConfig: { defaults: { unit: string }; overrides: [] };
  targets: Array<{ refId: string; expr: string; legendFormat: string; datasource: { type: 'prometheus'; uid: '${datasource}' } }>;
}

export interface DashboardJson {
  uid: string;
  title: string;
  tags: string[];
  schemaVersion: number;
  editable: boolean;
  time: { from: string; to: string };
  refresh: string;
  templating: { list: unknown[] };
  panels: DashboardPanel[];
}

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;
const PANEL_HEIGHT = 8;

function variable(name: string, query: string): unknown {
  return {
    name,
    type: 'query',
    datasource: DATASOURCE,
    query: { query, refId: name },
    refresh: 2,
    includeAll: true,
    multi: true,
    current: {},
    definition: query,
  };
}

/** The dashboard's JSON: panel ids 1…n in order, each row's panels side by side, rows stacked. */
export function dashboardJson(spec: DashboardSpec): DashboardJson {
  let id = 0;
  const panels = spec.rows.flatMap((row, r) => {
    if (row.length === 0 || row.length > GRID_COLUMNS) throw new Error(`dashboard ${spec.uid}: row ${r} must have 1 to ${GRID_COLUMNS} panels`);
    const w = Math.floor(GRID_COLUMNS / row.length);
    return row.map((p, i): DashboardPanel => ({
      id: ++id,
      type: p.type ?? 'timeseries',
      title: p.title,
      ...(p.description ? { description: p.description } : {}),
      gridPos: { x: i * w, y: r * PANEL_HEIGHT, w, h: PANEL_HEIGHT },
      datasource: DATASOURCE,
      fieldConfig: { defaults: { unit: p.unit ?? 'short' }, overrides: [] },
      targets: p.queries.map((q, k) => ({ refId: String.fromCharCode(65 + k), expr: q.expr, legendFormat: q.legend ?? '', datasource: DATASOURCE })),
    }));
  });
  const datasource = { name: 'datasource', type: 'datasource', query: 'prometheus', current: {}, hide: 0 };
  return {
    uid: spec.uid,
    title: spec.title,
    tags: [...spec.tags],
    schemaVersion: DASHBOARD_SCHEMA_VERSION,
    editable: false,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    templating: { list: [datasource, ...(spec.variables ?? []).map((v) => variable(v.name, v.query))] },
    panels,
  };
}
