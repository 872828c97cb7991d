import { MlflowError } from '../http/errors';
import { REGISTRY_LIMITS } from '../http/limits';
import { normpath, validateKey, validateLength } from '../http/validation';
import { STAGES, type Stage } from './entities';

const ALIAS_CHARS = /^[\p{L}\p{N}\p{M}_-]*$/u;
const VERSION_ALIAS = /^[vV]\d+$/;

export function validateModelName(name: string | undefined, field = 'name'): string {
  if (name === undefined || name.trim() === '') throw MlflowError.invalid(`Missing value for required parameter '${field}'.`);
  if (name.includes('/') || name.includes(':')) throw MlflowError.invalid(`Invalid model name '${name}'. Names cannot contain '/' or ':'.`);
  const norm = normpath(name);
  if (norm !== name || norm === '.' || norm.startsWith('..')) {
    throw MlflowError.invalid(
      `Invalid value "${name}" for parameter '${field}' supplied: Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '${norm}'`,
    );
  }
  validateLength(`Registered model name '${field}'`, REGISTRY_LIMITS.MAX_MODEL_NAME_LENGTH, name);
  return name;
}

/** Version numbers arrive as strings ("3"); MLflow answers INVALID_PARAMETER_VALUE for anything not an integer. */
export function parseVersion(version: string | number | undefined): number {
  if (version === undefined || version === '') throw MlflowError.invalid("Missing value for required parameter 'version'.");
  const s = String(version).trim();
  if (!/^-?\d{1,10}$/.test(s) || !Number.isSafeInteger(Number(s)) || Number(s) > 2_147_483_647) {
    throw MlflowError.invalid(`Parameter 'version' must be an integer, got '${version}'.`);
  }
  return Number(s);
}

export function validateRegistryTag(key: string, value: string, field = 'key'): void {
  validateKey(key, field, 'Tag key');
  validateLength(`Tag key '${field}'`, REGISTRY_LIMITS.MAX_MODEL_REGISTRY_TAG_KEY_LENGTH, key);
  validateLength("Tag value 'value'", REGISTRY_LIMITS.MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH, value);
}

export function validateDescription(description: string | undefined): void {
  validateLength("Description 'description'", REGISTRY_LIMITS.MAX_DESCRIPTION_LENGTH, description);
}

/** Alias names: word characters and dashes, ≤ 255 characters. */
export function validateAliasName(alias: string | undefined): string {
  if (alias === undefined || alias === '') throw MlflowError.invalid('Registered model alias name cannot be empty.');
  if (!ALIAS_CHARS.test(alias)) {
    throw MlflowError.invalid(`Invalid alias name: '${alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-).`);
  }
  validateLength('Registered model alias name', REGISTRY_LIMITS.MAX_REGISTERED_MODEL_ALIAS_LENGTH, alias);
  return alias;
}

/** Names an alias may not be set to: `latest` (any case) and `v<digits>`, which models:/ URIs already give a meaning. */
export function validateAliasNotReserved(alias: string): void {
  if (alias.toLowerCase() === 'latest') throw MlflowError.invalid("'latest' alias name (case insensitive) is reserved.");
  if (VERSION_ALIAS.test(alias)) throw MlflowError.invalid(`Version alias name '${alias}' is reserved.`);
}

/** Case-insensitive stage name → canonical spelling. */
export function canonicalStage(stage: string | undefined): Stage {
  const found = STAGES.find((s) => s.toLowerCase() === (stage ?? '').toLowerCase());
  if (!found) throw MlflowError.invalid(`Invalid Model Version stage: ${stage}. Value must be one of ${STAGES.join(', ')}.`);
  return found;
}

/** Logged model names: non-empty, none of / : . % " ' (MLflow's _validate_logged_model_name). */
export function validateLoggedModelName(name: string): void {
  const bad = ['/', ':', '.', '%', '"', "'"];
  if (!name || bad.some((c) => name.includes(c))) {
    throw MlflowError.invalid(
      `Invalid model name ('${name}') provided. Model name must be a non-empty string and cannot contain the following characters: ${bad.join(' ')}`,
    );
  }
  validateLength("Logged model name 'name'", 500, name);
}
