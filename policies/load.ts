import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { exceptionsFileSchema, type PolicyException } from './exceptions';
import type { KubeObject } from '../core/kube-objects';

/** A file that cannot be read or parsed; the message names the file (and document) and says what is wrong. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

const MANIFEST_EXT = /\.(ya?ml|json)$/i;

/** Expands files and directories (recursively, YAML/JSON files only, sorted) into a file list. */
export function manifestFiles(inputs: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string, explicit: boolean) => {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(p);
    } catch {
      throw new ManifestError(`${p}: no such file or directory`);
    }
    if (stat.isDirectory()) {
      for (const entry of fs.readdirSync(p).sort()) walk(path.join(p, entry), false);
    } else if (explicit || MANIFEST_EXT.test(p)) {
      out.push(p);
    }
  };
  for (const input of inputs) walk(input, true);
  return out;
}

function toObjects(doc: unknown, where: string): KubeObject[] {
  if (doc === null || doc === undefined) return [];
  const o = doc as Record<string, unknown>;
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ManifestError(`${where}: not a Kubernetes object (expected a mapping with apiVersion, kind, metadata)`);
  if (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items))
    return o.items.flatMap((item, i) => toObjects(item, `${where} items[${i}]`));
  const meta = o.metadata as Record<string, unknown> | undefined;
  for (const [field, ok] of [
    ['apiVersion', typeof o.apiVersion === 'string'],
    ['kind', typeof o.kind === 'string'],
    ['metadata.name', typeof meta?.name === 'string'],
  ] as const) {
    if (!ok) throw new ManifestError(`${where}: missing ${field}`);
  }
  return [doc as KubeObject];
}

/** Parses one YAML (multi-document) or JSON file into Kubernetes objects. */
export function parseManifests(text: string, file: string): KubeObject[] {
  const docs = parseAllDocuments(text);
  return docs.flatMap((doc, i) => {
    const where = docs.length > 1 ? `${file} (document ${i + 1})` : file;
    if (doc.errors.length) throw new ManifestError(`${where}: invalid YAML: ${doc.errors[0].message.split('\n')[0]}`);
    return toObjects(doc.toJS(), where);
  });
}

/** Reads and parses one manifest file; errors name the file. */
export function parseManifestFile(file: string): KubeObject[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ManifestError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseManifests(text, file);
}

export function loadManifests(inputs: string[]): KubeObject[] {
  return manifestFiles(inputs).flatMap(parseManifestFile);
}

/** An exceptions file: a YAML/JSON list of `{ rule, object, reason }`. */
export function loadExceptionsFile(file: string): PolicyException[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ManifestError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const docs = parseAllDocuments(text);
  if (docs[0]?.errors.length) throw new ManifestError(`${file}: invalid YAML: ${docs[0].errors[0].message.split('\n')[0]}`);
  const result = exceptionsFileSchema.safeParse(docs[0]?.toJS() ?? []);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ManifestError(
      `${file}: [${issue.path.join('].')}${issue.path.length ? ']' : ''} ${issue.message} (expected a list of { rule, object, reason })`.replace('[]', ''),
    );
  }
  return result.data;
}
