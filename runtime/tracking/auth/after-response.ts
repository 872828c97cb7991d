import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { SearchPager } from '../plugin';
import type { Identities } from './authenticate';
import type { Permissions } from './authorize';
import { classify, placeOf } from './places';
import { requiredField } from './request-fields';
import { AFTER_ACTIONS, API_RULES, ruleFor, type AfterAction } from './rules';
import type { AuthStore, UserRow } from './store';

/** Refill rounds for a filtered search page; a shorter page with a next_page_token is still correct paging. */
const MAX_REFILL_ROUNDS = 20;

type Item = Record<string, unknown>;

/**
 * Step 3, onSend of a successful API response: the creator's MANAGE grant, registry renames and
 * deletes carried into the permission table, and search pages filtered to readable items.
 */
export function afterResponse(identities: Identities, permissions: Permissions, store: AuthStore) {
  const apply = async (after: AfterAction, request: FastifyRequest, user: UserRow, body: Item): Promise<void> => {
    // The replies of this server's own CreateExperiment / CreateRegisteredModel (ids are strings in service.proto).
    const experimentId = body.experiment_id;
    if (after === 'grant_experiment' && typeof experimentId === 'string' && experimentId) await store.grantExperiment(user.id, experimentId, 'MANAGE');
    const modelName = (body.registered_model as Item | undefined)?.name;
    if (after === 'grant_registered_model' && typeof modelName === 'string' && modelName) await store.grantRegisteredModel(user.id, modelName, 'MANAGE');
    if (after === 'rename_registered_model') await store.renameRegisteredModel(requiredField(request, 'name'), requiredField(request, 'new_name'));
    if (after === 'forget_registered_model') await store.forgetRegisteredModel(requiredField(request, 'name'));
  };

  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    if (reply.statusCode !== 200 || typeof payload !== 'string') return payload;
    const user = identities.get(request);
    const place = placeOf(request);
    if (!user || !place || place.table !== API_RULES) return payload;
    const after = AFTER_ACTIONS[`${request.method} ${place.key}`];
    if (after) {
      await apply(after, request, user, JSON.parse(payload) as Item);
      return payload;
    }
    const rule = ruleFor(API_RULES, place.key, request.method);
    const pager = request.routeOptions.config.searchPage;
    if (user.is_admin || rule?.kind !== 'filter' || !pager) return payload;
    const readable =
      rule.by === 'experiment'
        ? await permissions.readableExperiments(user).then((can) => (item: Item) => can(String(item.experiment_id)))
        : await permissions.readableModels(user).then((can) => (item: Item) => can(String(item.name)));
    return JSON.stringify(await filterPage(request, pager, JSON.parse(payload) as Item, rule.list, readable));
  };
}

/** Whether a route has anything to do after its handler (so the hot write paths skip the onSend hook). */
export function needsAfterResponse(route: RouteOptions): boolean {
  const place = classify(route.url);
  if (!place || place.table !== API_RULES) return false;
  const methods = ([] as string[]).concat(route.method);
  return methods.some((m) => AFTER_ACTIONS[`${m} ${place.key}`] !== undefined || ruleFor(API_RULES, place.key, m)?.kind === 'filter');
}

/**
 * Drops unreadable items from a search page, then asks the route's own search (in process) for the
 * following pages, for exactly the missing count so no item is skipped, until the page is as full
 * as the unfiltered one was or the results end. MLflow's filter_search_* handlers refill the same
 * way. A page left short still carries the right next_page_token, so paging clients see every item.
 */
async function filterPage(request: FastifyRequest, pager: SearchPager, page: Item, list: string, readable: (item: Item) => boolean): Promise<Item> {
  const original = (page[list] as Item[] | undefined) ?? [];
  const target = original.length;
  const items = original.filter(readable);
  let token = page.next_page_token as string | undefined;
  for (let round = 0; round < MAX_REFILL_ROUNDS && items.length < target && token; round++) {
    let next: Item;
    try {
      // A round the search refuses (as the server's own answer would be a 4xx) ends the refill.
      next = await pager(request, { pageToken: token, maxResults: target - items.length });
    } catch {
      break;
    }
    items.push(...((next[list] as Item[] | undefined) ?? []).filter(readable));
    token = next.next_page_token as string | undefined;
  }
  const out: Item = { ...page, [list]: items };
  if (token) out.next_page_token = token;
  else delete out.next_page_token;
  return out;
}
