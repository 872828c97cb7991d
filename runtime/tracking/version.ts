/**
 * The server's version as `/version` reports it: a PEP 440 string (MLflow clients parse it with
 * packaging.version). Follows package.json.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const SERVER_VERSION: string = (require('../../package.json') as { version: string }).version;
