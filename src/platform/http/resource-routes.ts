/**
 * Builders of the routes most resources have: a page of the team's list, a create, a route on one
 * item (get, change, act on it) and a delete, each with the responses its kind always has; and
 * `teamResource`, which names them all by the API's conventions.
 */
import type { z } from 'zod';
import { type CamelKeys, camelCase, capitalized } from '../../domain/names.js';
import { type ListQuery, type Page, restPage, restPageSchema } from '../../domain/paging.js';
import { isScope } from '../../domain/scopes.js';
import type { TeamCreate, TeamGet, TeamList } from '../team-resource-service.js';
import { conflict, deleted, notFound, type ResponseDoc, type RouteDoc } from './rest-docs.js';
import type { RestResponse } from './rest-errors.js';
import { etagOf, type PathParams, type RestRequest, type Route } from './rest-router.js';
import type { RestView } from './rest-views.js';

/** What a list's query string parses into: the page asked for and the list query (paging, order, filters). */
type ParsedList<Query> = { page: number; list: Query };

export interface ListRouteOptions<Query extends ListQuery<string>, T> {
  path: string;
  doc: Omit<RouteDoc, 'query' | 'responses'>;
  query: { schema: z.ZodObject; parse(query: URLSearchParams): ParsedList<Query> };
  page: string;
  list(request: RestRequest, parsed: ParsedList<Query>): Promise<Page<T>>;
  view: RestView<T>;
}

/** The `list` of a team's list route: the service's page of the path's team, for the query string's list query. */
export function teamPage<Query, T>(service: TeamList<Query, T>) {
  return ({ actor, params }: RestRequest, { list }: ParsedList<Query>) =>
    service.list(actor, params.team_id, list);
}

/**
 * `GET path`: a page of a team's list. `query` is the list's query string (`restListQuery`): the
 * OpenAPI document shows its schema, and the handler parses the request's with it (after the router
 * applied the scope); `list` calls the service with what it parsed, `view` renders each item (its
 * schema is the items'), and `page` says what the 200 holds.
 */
export function listRoute<Query extends ListQuery<string>, T>(options: ListRouteOptions<Query, T>): Route {
  const { page: description, view } = options;
  return {
    method: 'GET',
    path: options.path,
    doc: {
      ...options.doc,
      query: options.query.schema,
      responses: { 200: { description, schema: restPageSchema(view.schema) } },
    },
    handle: async (request) => {
      const parsed = options.query.parse(request.query);
      const result = await options.list(request, parsed);
      return { status: 200, body: restPage(parsed.page, parsed.list, result, view) };
    },
  };
}

/** A route's doc without the responses its helper adds; `responses` has the route's own others (409, 412). */
export type ItemRouteDoc = Omit<RouteDoc, 'responses'> & { responses?: RouteDoc['responses'] };

/**
 * What a route that gives one item answers: `run` does the work, `view` renders the item it gives
 * (its schema is the body's), and `response` says in words what the success holds. With `etag`, the
 * response carries the item's version as its ETag; with `oneTimeSecret`, its body holds a secret
 * shown this once (never replayed).
 */
export interface ItemAnswer<T> {
  response: string;
  run(request: RestRequest): Promise<T>;
  view: RestView<T>;
  etag?(item: T): number;
  oneTimeSecret?: boolean;
}

/** The success response of an `ItemAnswer`, and its doc. */
function answer<T>(status: 200 | 201, route: ItemAnswer<T>): { doc: ResponseDoc; handle: Route['handle'] } {
  const { response, run, view, etag, oneTimeSecret } = route;
  return {
    doc: { description: response, schema: view.schema, ...(etag && { headers: { ETag: 'always' } }) },
    handle: async (request: RestRequest): Promise<RestResponse> => {
      const item = await run(request);
      return {
        status,
        body: view(item),
        ...(etag && { headers: etagOf(etag(item)) }),
        ...(oneTimeSecret && { oneTimeSecret }),
      };
    },
  };
}

/** `POST path`: creates an item of a team and answers 201 with it. */
export function createRoute<T>(options: ItemAnswer<T> & { path: string; doc: ItemRouteDoc }): Route {
  const { doc, handle } = answer(201, options);
  return {
    method: 'POST',
    path: options.path,
    doc: { ...options.doc, responses: { 201: doc, ...options.doc.responses } },
    handle,
  };
}

/**
 * A route on one item of a team (get, change or act on it), 404 when the item is not the caller's
 * (`what` names it: `API key`). `bodyOptional`: an action that takes no input may be sent no body.
 */
export function itemRoute<T>(
  options: ItemAnswer<T> & {
    method: 'GET' | 'POST' | 'PATCH';
    path: string;
    what: string;
    doc: ItemRouteDoc;
    bodyOptional?: boolean;
  },
): Route {
  const { doc, handle } = answer(200, options);
  return {
    method: options.method,
    path: options.path,
    ...(options.bodyOptional && { bodyOptional: true }),
    doc: {
      ...options.doc,
      responses: { 200: doc, 404: notFound(options.what), ...options.doc.responses },
    },
    handle,
  };
}

/** `DELETE path`: 204 without a body once `delete` is done, 404 when the item (`what`) is not the caller's. */
export function deleteRoute(options: {
  path: string;
  what: string;
  doc: ItemRouteDoc;
  delete(request: RestRequest): Promise<unknown>;
}): Route {
  const { what } = options;
  return {
    method: 'DELETE',
    path: options.path,
    doc: {
      ...options.doc,
      responses: { 204: deleted(capitalized(what)), 404: notFound(what), ...options.doc.responses },
    },
    handle: async (request) => {
      await options.delete(request);
      return { status: 204 };
    },
  };
}

/** What a route of a `teamResource` adds to its doc: a summary of its own, a description, inputs, other responses. */
type DocExtras = Omit<ItemRouteDoc, 'operationId' | 'summary' | 'tags' | 'scope'> & { summary?: string };

type ScopeAction = 'read' | 'create' | 'update' | 'delete';

/** The ids an item path names: `/v1/teams/:team_id/locations/:location_id`, `{ teamId, locationId }`. */
type ItemIds<Path extends string> = Path extends `/v1/teams/:team_id/${string}/:${infer Id}`
  ? { teamId: string } & CamelKeys<Record<Id, string>>
  : never;

/** An `ItemAnswer` whose `run` is also given what the path names: the team's id, or the item's ids. */
export type AnswerAt<T, At> = Omit<ItemAnswer<T>, 'run'> & { run(request: RestRequest, at: At): Promise<T> };

/** What a `GET` on an item answers: what `run` gives, or the service's read of the item. */
type GetAnswer<T, Ids> = Omit<AnswerAt<T, Ids>, 'run'> &
  ({ run: AnswerAt<T, Ids>['run']; service?: never } | { run?: never; service: TeamGet<Ids, T> });

/** An action on an item of a `teamResource` (rotate, revoke): what it answers, its doc and the scope of `action`. */
export type ActionRoute<T, Ids> = AnswerAt<T, Ids> &
  DocExtras & { action: Exclude<ScopeAction, 'read'>; bodyOptional?: boolean };

/**
 * The routes of a team's resource, named by the API's conventions. `itemPath` is one item's path
 * (`/v1/teams/:team_id/locations/:location_id`; the path before it is the collection's), and `what`
 * is one item in words (`location`, `API key`). The operation ids follow from them (`createLocation`,
 * `listLocations`, `getLocation`, `updateLocation`, `deleteLocation`, `<verb>Location` for an action
 * such as rotate), and so do the summaries ("Create a location", "List locations", ...) unless a
 * route gives its own, the tag (`Locations`), the scopes (`locations:read`, ...) and the 404 and 204
 * descriptions. A create is the service's create for the path's team, of the body as `command` reads
 * it; an item route's `run` is given the item's ids: the team's and the item's, named as in the path
 * (`:location_id`: `{ teamId, locationId }`). Where names are unique in a team (`uniqueNames`), a
 * create and an update answer 409 when the name is taken.
 */
export function teamResource<Path extends string>(
  itemPath: Path,
  what: string,
  options: { uniqueNames?: boolean } = {},
) {
  type Ids = ItemIds<Path>;
  const [, path, collection, idParam] =
    /^(\/v1\/teams\/:team_id\/([a-z-]+))\/:([a-z_]+)$/.exec(itemPath) ?? [];
  if (!path || !collection || !idParam) throw new Error(`Not the path of a team's item: ${itemPath}`);
  const ids = (params: PathParams) =>
    ({ teamId: params.team_id, [camelCase(idParam)]: params[idParam] }) as Ids;
  const name = what
    .split(' ')
    .map((word) => capitalized(word.toLowerCase()))
    .join('');
  const one = `${/^[aeiou]/i.test(what) ? 'an' : 'a'} ${what}`;
  const tags: [string] = [`${capitalized(what)}s`];
  const doc = (operationId: string, summary: string, action: ScopeAction, extras: DocExtras) => {
    const scope = `${collection.replaceAll('-', '_')}:${action}`;
    if (!isScope(scope)) throw new Error(`No scope ${scope} for ${itemPath}`);
    return { summary, ...extras, operationId, tags, scope };
  };
  /** The doc of the route `<verb>` on one item: `<verb><Name>`, "<Verb> a <what>". */
  const itemDoc = (verb: string, action: ScopeAction, extras: DocExtras): ItemRouteDoc =>
    doc(`${verb}${name}`, `${capitalized(verb)} ${one}`, action, extras);
  /** The 409 of a create or update where names are unique. */
  const nameTaken = (which: string): RouteDoc['responses'] =>
    options.uniqueNames ? { 409: conflict(`A ${what} with ${which} exists in the team.`) } : {};
  /** An item route's answer, its `run` given the item's ids. */
  const onItem = <T>({
    run,
    ...answer
  }: AnswerAt<T, Ids>): ItemAnswer<T> & { path: string; what: string } => ({
    ...answer,
    path: itemPath,
    what,
    run: (request) => run(request, ids(request.params)),
  });
  return {
    tags,
    /** The ids the item path names (the router has validated them). */
    ids,
    /** `GET` on the collection: a page of the team's items from the service's list. */
    list<Query extends ListQuery<string>, T>(
      route: Pick<ListRouteOptions<Query, T>, 'query' | 'view'> & {
        service: TeamList<Query, T>;
        description?: string;
      },
    ): Route {
      const { service, description, ...listing } = route;
      return listRoute({
        ...listing,
        list: teamPage(service),
        path,
        doc: doc(`list${name}s`, `List ${what}s`, 'read', { description }),
        page: `A page of ${what}s.`,
      });
    },
    /** `POST` on the collection: `service.create` of the body as `command` reads it. */
    create<Command, T>({
      response,
      service,
      command,
      view,
      etag,
      oneTimeSecret,
      ...extras
    }: Omit<ItemAnswer<T>, 'run'> &
      DocExtras & { service: TeamCreate<Command, T>; command(body: unknown): Command }): Route {
      const created = itemDoc('create', 'create', extras);
      return createRoute({
        path,
        doc: { ...created, responses: { ...nameTaken('this name'), ...extras.responses } },
        response,
        run: ({ actor, meta, params, body }) => service.create(actor, meta, params.team_id, command(body)),
        view,
        etag,
        oneTimeSecret,
      });
    },
    /** `GET` on the item: what `run` gives, or else `service.get` of the item. */
    get<T>({ response, run, service, view, etag, ...extras }: GetAnswer<T, Ids> & DocExtras): Route {
      const answer = onItem({
        response,
        view,
        etag,
        run: run ?? (({ actor }, ids) => service!.get(actor, ids)),
      });
      return itemRoute({ ...answer, method: 'GET', doc: itemDoc('get', 'read', extras) });
    },
    /** `PATCH` on the item. */
    update<T>({ response, run, view, ...extras }: AnswerAt<T, Ids> & DocExtras): Route {
      const updated = itemDoc('update', 'update', extras);
      return itemRoute({
        ...onItem({ response, run, view }),
        method: 'PATCH',
        doc: { ...updated, responses: { ...nameTaken('the new name'), ...extras.responses } },
      });
    },
    /** `DELETE` on the item. */
    delete(route: DocExtras & { delete(request: RestRequest, ids: Ids): Promise<unknown> }): Route {
      const { delete: remove, ...extras } = route;
      return deleteRoute({
        path: itemPath,
        what,
        doc: itemDoc('delete', 'delete', extras),
        delete: (request) => remove(request, ids(request.params)),
      });
    },
    /** `POST` on `<item>/<verb>`: an action on the item, under the scope of `action`. */
    action<T>(verb: string, route: ActionRoute<T, Ids>): Route {
      const { action, response, run, view, oneTimeSecret, bodyOptional, ...extras } = route;
      return itemRoute({
        ...onItem({ response, run, view, oneTimeSecret }),
        method: 'POST',
        path: `${itemPath}/${verb}`,
        doc: itemDoc(verb, action, extras),
        bodyOptional,
      });
    },
  };
}
