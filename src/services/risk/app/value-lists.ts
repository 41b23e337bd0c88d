import type { Db } from '../../../platform/db.js';
import type { OperationContext, Outcome } from '../../../platform/write/operation.js';
import type { Page, PageRequest } from '../../../platform/pagination.js';
import { PayrailError } from '../../../kernel/errors.js';
import { mergeMetadata } from '../../../kernel/metadata.js';
import { auditedChange } from '../../audit/index.js';
import type { ItemType } from '../domain/value-list-items.js';
import { ALIAS_PATTERN, itemValueProblem, normalizedValue } from '../domain/value-list-items.js';
import { checkRule } from '../domain/rule-check.js';
import { ruleText } from '../domain/rule-syntax.js';
import { listRules } from '../adapters/rules-store.js';
import type { ValueList, ValueListItem } from '../adapters/value-lists-store.js';
import * as Store from '../adapters/value-lists-store.js';

/**
 * Stripe's `radar.value_list` and `radar.value_list_item`, behind /v1/radar/value_lists and
 * /v1/radar/value_list_items. Every change is audited (lists decide what rules allow and block).
 */

export const VALUE_LIST_CAPS = {
  /** Lists per merchant (and mode): every one is an alias rules may name. */
  lists_per_merchant: 1_000,
  /** Items per list: a list is loaded whole into each process that evaluates a rule naming it. */
  items_per_list: 10_000,
  /** Items shown inline in `list_items` on a list, as Stripe shows its first page. */
  inline_items: 10,
} as const;

/** The request's mode and who made it, as `created_by` records it. */
export interface ListRequest {
  livemode: boolean;
}

export function renderItem(item: ValueListItem): Record<string, unknown> {
  return {
    id: item.id,
    object: 'radar.value_list_item',
    created: item.created,
    created_by: item.created_by,
    livemode: item.livemode,
    value: item.value,
    value_list: item.value_list_id,
  };
}

async function renderList(db: Db, list: ValueList): Promise<Record<string, unknown>> {
  const items = await Store.listItems(db, list.merchant_id, { value_list: list.id }, { limit: VALUE_LIST_CAPS.inline_items });
  return listObject(list, items);
}

function listObject(list: ValueList, items: Page<ValueListItem>): Record<string, unknown> {
  return {
    id: list.id,
    object: 'radar.value_list',
    alias: list.alias,
    created: list.created,
    created_by: list.created_by,
    item_type: list.item_type,
    list_items: { object: 'list', data: items.data.map(renderItem), has_more: items.has_more, url: `/v1/radar/value_list_items?value_list=${list.id}` },
    livemode: list.livemode,
    metadata: list.metadata,
    name: list.name,
  };
}

function createdBy(ctx: OperationContext): string {
  return ctx.actor.api_key_id ?? (ctx.actor.operator ? 'cli' : 'system');
}

function checkAlias(alias: string): string {
  if (!ALIAS_PATTERN.test(alias)) {
    throw new PayrailError('parameter_invalid', {
      param: 'alias',
      message: 'Invalid alias: use letters, digits and underscores only (rules write it after @).',
    });
  }
  return alias;
}

function aliasInUse(alias: string): PayrailError {
  return new PayrailError('resource_already_exists', { param: 'alias', message: `A value list with the alias '${alias}' already exists.` });
}

export interface CreateListParams {
  alias: string;
  name: string;
  item_type?: ItemType | undefined;
  metadata?: Record<string, string | null> | null | undefined;
}

export async function createList(request: ListRequest, ctx: OperationContext, params: CreateListParams): Promise<Outcome> {
  const alias = checkAlias(params.alias);
  if (await Store.aliasTaken(ctx.reader, ctx.merchant_id, alias, null)) throw aliasInUse(alias);
  if ((await Store.listCount(ctx.reader, ctx.merchant_id)) >= VALUE_LIST_CAPS.lists_per_merchant) {
    throw new PayrailError('parameter_invalid', {
      param: 'alias',
      message: `An account can have at most ${VALUE_LIST_CAPS.lists_per_merchant} value lists; delete one first.`,
    });
  }
  const list: ValueList = {
    merchant_id: ctx.merchant_id,
    id: ctx.ids.next('value_list'),
    alias,
    name: params.name,
    item_type: params.item_type ?? 'string',
    metadata: mergeMetadata({}, params.metadata ?? {}),
    created_by: createdBy(ctx),
    livemode: request.livemode,
    created: ctx.now_s,
    version: 1,
  };
  const outcome: Outcome = { ok: listObject(list, { data: [], has_more: false }) };
  const audit = auditedChange(ctx, { type: 'radar.value_list.created', object_id: list.id, data: { alias, item_type: list.item_type } });
  await ctx.commit([Store.insertList(list, VALUE_LIST_CAPS.lists_per_merchant), audit], outcome);
  return outcome;
}

export interface UpdateListParams {
  alias?: string | undefined;
  name?: string | undefined;
  metadata?: Record<string, string | null> | null | undefined;
}

export async function updateList(ctx: OperationContext, id: string, params: UpdateListParams): Promise<Outcome> {
  const before = await Store.getList(ctx.reader, ctx.merchant_id, id, 'value_list');
  const alias = params.alias === undefined ? before.alias : checkAlias(params.alias);
  if (alias !== before.alias) {
    if (await Store.aliasTaken(ctx.reader, ctx.merchant_id, alias, before.id)) throw aliasInUse(alias);
    await refuseIfReferenced(ctx.reader, before, 'renamed');
  }
  const after: ValueList = {
    ...before,
    alias,
    name: params.name ?? before.name,
    metadata: params.metadata === undefined ? before.metadata : mergeMetadata(before.metadata, params.metadata),
    version: before.version + 1,
  };
  const outcome: Outcome = { ok: await renderList(ctx.reader, after) };
  const audit = auditedChange(ctx, { type: 'radar.value_list.updated', object_id: after.id, data: { old_alias: before.alias, alias: after.alias } });
  await ctx.commit([Store.updateList(after, before.version), audit], outcome);
  return outcome;
}

export async function deleteList(ctx: OperationContext, id: string): Promise<Outcome> {
  const list = await Store.getList(ctx.reader, ctx.merchant_id, id, 'value_list');
  await refuseIfReferenced(ctx.reader, list, 'deleted');
  const outcome: Outcome = { ok: { id: list.id, object: 'radar.value_list', deleted: true } };
  const audit = auditedChange(ctx, { type: 'radar.value_list.deleted', object_id: list.id, data: { alias: list.alias } });
  await ctx.commit([Store.deleteList(list), audit], outcome);
  return outcome;
}

/** A list a rule names cannot lose its alias: the rule would fail closed on every payment. */
async function refuseIfReferenced(db: Db, list: ValueList, what: string): Promise<void> {
  const rules = await listRules(db, list.merchant_id);
  const user = rules.find((rule) => {
    try {
      return checkRule(ruleText(rule.action, rule.predicate)).aliases.includes(list.alias);
    } catch {
      return false;
    }
  });
  if (user) {
    throw new PayrailError('parameter_invalid', {
      param: 'value_list',
      message: `The value list @${list.alias} is used by rule ${user.id} and cannot be ${what}; change or delete the rule first.`,
    });
  }
}

export async function retrieveList(db: Db, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  return renderList(db, await Store.getList(db, merchant_id, id, 'value_list'));
}

export async function listValueLists(db: Db, merchant_id: string, filters: { alias?: string | undefined; contains?: string | undefined }, page: PageRequest) {
  const lists = await Store.listLists(db, merchant_id, filters, page);
  return { data: await Promise.all(lists.data.map((list) => renderList(db, list))), has_more: lists.has_more };
}

export async function createItem(request: ListRequest, ctx: OperationContext, params: { value: string; value_list: string }): Promise<Outcome> {
  const list = await Store.getList(ctx.reader, ctx.merchant_id, params.value_list, 'value_list');
  const problem = itemValueProblem(list.item_type, params.value);
  if (problem) throw new PayrailError('parameter_invalid', { param: 'value', message: problem });
  const normalized = normalizedValue(list.item_type, params.value);
  const stats = await Store.itemStats(ctx.reader, ctx.merchant_id, list.id, normalized);
  if (stats.holds) throw new PayrailError('resource_already_exists', { param: 'value', message: `The value list ${list.id} already contains this value.` });
  if (stats.count >= VALUE_LIST_CAPS.items_per_list) {
    throw new PayrailError('parameter_invalid', { param: 'value_list', message: `A value list holds at most ${VALUE_LIST_CAPS.items_per_list} items.` });
  }
  const item: ValueListItem = {
    merchant_id: ctx.merchant_id,
    id: ctx.ids.next('value_list_item'),
    value_list_id: list.id,
    value: params.value,
    normalized,
    created_by: createdBy(ctx),
    livemode: request.livemode,
    created: ctx.now_s,
  };
  const outcome: Outcome = { ok: renderItem(item) };
  const audit = auditedChange(ctx, { type: 'radar.value_list_item.created', object_id: item.id, data: { value_list: list.id, alias: list.alias } });
  await ctx.commit([Store.insertItem(item, VALUE_LIST_CAPS.items_per_list), audit], outcome);
  return outcome;
}

export async function deleteItem(ctx: OperationContext, id: string): Promise<Outcome> {
  const item = await Store.getItem(ctx.reader, ctx.merchant_id, id);
  const outcome: Outcome = { ok: { id: item.id, object: 'radar.value_list_item', deleted: true } };
  const audit = auditedChange(ctx, { type: 'radar.value_list_item.deleted', object_id: item.id, data: { value_list: item.value_list_id } });
  await ctx.commit([Store.deleteItem(item), audit], outcome);
  return outcome;
}

export async function retrieveItem(db: Db, merchant_id: string, id: string): Promise<Record<string, unknown>> {
  return renderItem(await Store.getItem(db, merchant_id, id));
}

export async function listValueListItems(db: Db, merchant_id: string, filters: { value_list: string; value?: string | undefined }, page: PageRequest) {
  const list = await Store.getList(db, merchant_id, filters.value_list, 'value_list');
  const normalized_value = filters.value === undefined ? undefined : normalizedValue(list.item_type, filters.value);
  const items = await Store.listItems(db, merchant_id, { value_list: list.id, normalized_value }, page);
  return { data: items.data.map(renderItem), has_more: items.has_more };
}
