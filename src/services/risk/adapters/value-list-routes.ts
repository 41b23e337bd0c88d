import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { listOf, pageOf, pathParam, routeKit } from '../../../platform/http/routes.js';
import * as P from '../../../platform/http/params.js';
import { expandable, expandableList } from '../../../platform/http/expandable.js';
import type { WriteDeps } from '../../../platform/write/pipeline.js';
import { ITEM_TYPES, VALUE_LIST_LIMITS } from '../domain/value-list-items.js';
import * as Lists from '../app/value-lists.js';

/** Radar value lists and their items, through the one write pipeline (validation, idempotency, commit). */

/** `list_items` is always included on a value list; expanding it is accepted and changes nothing. Items expand nothing. */
const listExpand = () => expandable((path) => path.length === 1 && path[0] === 'list_items').optional();
const noExpand = () => expandable(() => false).optional();

const createListSchema = z.strictObject({
  alias: P.nonEmptyText(VALUE_LIST_LIMITS.alias_max),
  name: P.nonEmptyText(VALUE_LIST_LIMITS.name_max),
  item_type: P.oneOf(ITEM_TYPES).optional(),
  metadata: P.metadata().optional(),
  expand: listExpand(),
});
const updateListSchema = z.strictObject({
  alias: P.nonEmptyText(VALUE_LIST_LIMITS.alias_max).optional(),
  name: P.nonEmptyText(VALUE_LIST_LIMITS.name_max).optional(),
  metadata: P.metadata().optional(),
  expand: listExpand(),
});
const listListsSchema = z.strictObject({
  ...P.listParams,
  alias: P.text(VALUE_LIST_LIMITS.alias_max).optional(),
  contains: P.text(VALUE_LIST_LIMITS.value_max).optional(),
  expand: expandableList((path) => path.length === 1 && path[0] === 'list_items').optional(),
});
const createItemSchema = z.strictObject({
  value: P.nonEmptyText(VALUE_LIST_LIMITS.value_max),
  value_list: P.nonEmptyText(255),
  expand: noExpand(),
});
const listItemsSchema = z.strictObject({
  ...P.listParams,
  value_list: P.nonEmptyText(255),
  value: P.text(VALUE_LIST_LIMITS.value_max).optional(),
  expand: expandableList(() => false).optional(),
});
const deleteSchema = z.strictObject({});
const retrieveListSchema = z.strictObject({ expand: listExpand() });
const retrieveItemSchema = z.strictObject({ expand: noExpand() });

export interface ValueListRoutesDeps {
  write: WriteDeps;
}

export function valueListRoutes(deps: ValueListRoutesDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const { post, get } = routeKit(app, deps.write);
    const reader = deps.write.reader;
    const request = (r: FastifyRequest): Lists.ListRequest => ({ livemode: r.api_key?.livemode === true });

    post('/v1/radar/value_lists', createListSchema, ['value_list'], (ctx, p, r) => Lists.createList(request(r), ctx, p));
    post('/v1/radar/value_lists/:value_list', updateListSchema, [], (ctx, p, r) => Lists.updateList(ctx, pathParam(r, 'value_list'), p));
    post('/v1/radar/value_lists/:value_list', deleteSchema, [], (ctx, _p, r) => Lists.deleteList(ctx, pathParam(r, 'value_list')), 'DELETE');
    get('/v1/radar/value_lists/:value_list', retrieveListSchema, (m, _q, r) => Lists.retrieveList(reader, m, pathParam(r, 'value_list')));
    get('/v1/radar/value_lists', listListsSchema, async (m, q) =>
      listOf('/v1/radar/value_lists', await Lists.listValueLists(reader, m, { alias: q.alias, contains: q.contains }, pageOf(q))),
    );

    post('/v1/radar/value_list_items', createItemSchema, ['value_list_item'], (ctx, p, r) => Lists.createItem(request(r), ctx, p));
    post('/v1/radar/value_list_items/:item', deleteSchema, [], (ctx, _p, r) => Lists.deleteItem(ctx, pathParam(r, 'item')), 'DELETE');
    get('/v1/radar/value_list_items/:item', retrieveItemSchema, (m, _q, r) => Lists.retrieveItem(reader, m, pathParam(r, 'item')));
    get('/v1/radar/value_list_items', listItemsSchema, async (m, q) =>
      listOf('/v1/radar/value_list_items', await Lists.listValueListItems(reader, m, { value_list: q.value_list, value: q.value }, pageOf(q))),
    );
  };
}
