/**
 * @deprecated CliError lives in core/errors.ts (the ground floor): parts must not import the command
 * frame. Kept only until branches started before the move are merged; import from core/errors.
 */
export { CliError } from '../core/errors';
