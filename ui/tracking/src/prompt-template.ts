import type { KeyValue, ModelVersion } from './api';

// How MLflow's prompt registry keeps a prompt version in a model version's tags (mlflow/prompt/constants.py):
// the template text (or, for chat prompts, a JSON list of messages), its type, and optional response
// format and model config. Tags are user-writable, so a chat template that is not a message list is
// shown as its raw text.

export const PROMPT_TEXT_TAG = 'mlflow.prompt.text';
export const PROMPT_TYPE_TAG = '_mlflow_prompt_type';
export const RESPONSE_FORMAT_TAG = '_mlflow_prompt_response_format';
export const MODEL_CONFIG_TAG = '_mlflow_prompt_model_config';

export interface ChatMessage {
  role: string;
  content: string;
}

export type PromptTemplate = { kind: 'text'; text: string } | { kind: 'chat'; messages: ChatMessage[] } | { kind: 'raw'; text: string; reason: string };

export function tagValue(tags: KeyValue[] | undefined, key: string): string | undefined {
  return tags?.filter((t) => t.key === key).pop()?.value;
}

function messagesOf(text: string): ChatMessage[] | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
  if (!Array.isArray(json)) return undefined;
  const messages: ChatMessage[] = [];
  for (const m of json) {
    if (typeof m !== 'object' || m === null) return undefined;
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (typeof role !== 'string') return undefined;
    messages.push({ role, content: typeof content === 'string' ? content : JSON.stringify(content) });
  }
  return messages;
}

export function promptTemplate(v: ModelVersion): PromptTemplate {
  const text = tagValue(v.tags, PROMPT_TEXT_TAG) ?? '';
  if (tagValue(v.tags, PROMPT_TYPE_TAG) !== 'chat') return { kind: 'text', text };
  const messages = messagesOf(text);
  return messages ? { kind: 'chat', messages } : { kind: 'raw', text, reason: 'This chat template is not a JSON list of {role, content} messages.' };
}

/** The `{{variable}}` names a template uses, in first-use order (MLflow's PROMPT_TEMPLATE_VARIABLE_PATTERN). */
export function templateVariables(t: PromptTemplate): string[] {
  const texts = t.kind === 'chat' ? t.messages.map((m) => m.content) : [t.text];
  const names: string[] = [];
  for (const s of texts)
    for (const m of s.matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*)*)\s*\}\}/g)) if (!names.includes(m[1])) names.push(m[1]);
  return names;
}

/** Tags a person set on a prompt or a version (not the registry's own `mlflow.*` / `_mlflow_*` bookkeeping). */
export function promptUserTags(tags: KeyValue[] | undefined): KeyValue[] {
  return (tags ?? []).filter((t) => !t.key.startsWith('mlflow.') && !t.key.startsWith('_mlflow_'));
}
