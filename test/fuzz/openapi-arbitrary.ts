import fc from 'fast-check';

/**
 * fast-check arbitraries for requests built from Stripe's OpenAPI description: the documented
 * parameters of an operation with values of their documented types, then, often, one of the bad
 * inputs an attacker or a broken client sends in place of a value or a key.
 */
export interface Schema {
  type?: string;
  enum?: unknown[];
  maxLength?: number;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  anyOf?: Schema[];
  $ref?: string;
}

export interface Operation {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  /** Body (POST) or query (GET, DELETE) parameters, by name. */
  params: Record<string, Schema>;
}

type Value = string | number | boolean | Value[] | { [key: string]: Value | undefined };
type Params = Record<string, Value | undefined>;

/** Nesting this deep is only ever sent by an attacker; a parser must refuse it, not overflow. */
const DEEP = 200;

/** Values no field accepts, and values near the edges of what fields accept. */
export const BAD_VALUES: fc.Arbitrary<Value> = fc.oneof(
  fc.constantFrom<Value>(
    '',
    ' ',
    'True',
    'False',
    'null',
    'undefined',
    'NaN',
    '-1',
    '0',
    '1e308',
    '9223372036854775808',
    '-9223372036854775809',
    '0x10',
    '1.5',
  ),
  fc.constantFrom<Value>('\u0000', '\u202e', '💳', "' OR '1'='1", '"; DROP TABLE payments.charges; --', '../../etc/passwd', '${jndi:ldap://x}', '<script>'),
  fc.constantFrom<Value>('x'.repeat(5_001), 'é'.repeat(70_000), ['a', ['b', ['c']]], { '': 'x' }, nested(DEEP)),
  fc.constantFrom<Value>(JSON.parse('{"__proto__":{"polluted":"x"}}') as Value, { constructor: 'x' }, { toString: 'x' }, { hasOwnProperty: 'x' }),
  fc.integer({ min: -(2 ** 53), max: 2 ** 53 }).map(String),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

/** Parameter names no endpoint has, including ones that reach into prototypes. */
const BAD_KEYS = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'unknown_param', 'amount[0]', 'metadata]', '[', '');

function nested(depth: number): Value {
  let value: Value = 'bottom';
  for (let i = 0; i < depth; i += 1) value = { a: value };
  return value;
}

export function requestParams(
  spec: { components: { schemas: Record<string, Schema> } },
  operation: Operation,
  ids: fc.Arbitrary<string>,
): fc.Arbitrary<Params> {
  const resolve = (schema: Schema): Schema => (schema.$ref ? (spec.components.schemas[schema.$ref.split('/').pop()!] ?? {}) : schema);
  const valueOf = (schema: Schema, depth: number): fc.Arbitrary<Value> => schemaValue(resolve(schema), depth, valueOf, ids);
  const names = Object.keys(operation.params);
  const documented =
    names.length === 0
      ? fc.constant({})
      : fc.record(
          mapValues(operation.params, (s) => valueOf(s, 0)),
          { requiredKeys: [] },
        );
  return fc
    .tuple(documented, fc.nat({ max: 9 }), fc.constantFrom(...(names.length ? names : ['x'])), BAD_VALUES, BAD_KEYS)
    .map(([params, dice, name, bad, key]) => {
      if (dice < 4) return params;
      if (dice < 8) return { ...params, [name]: bad };
      return { ...params, [key]: bad };
    });
}

function schemaValue(
  schema: Schema,
  depth: number,
  valueOf: (s: Schema, depth: number) => fc.Arbitrary<Value>,
  ids: fc.Arbitrary<string>,
): fc.Arbitrary<Value> {
  if (depth > 4) return fc.constant('deep');
  if (schema.anyOf?.length) return fc.oneof(...schema.anyOf.map((option) => valueOf(option, depth + 1)));
  if (schema.enum?.length) return fc.constantFrom(...(schema.enum as Value[]));
  switch (schema.type) {
    case 'integer':
      return fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.integer());
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(schema.items ? valueOf(schema.items, depth + 1) : fc.string(), { maxLength: 3 });
    case 'object':
      if (schema.properties && Object.keys(schema.properties).length > 0) {
        return fc.record(
          mapValues(schema.properties, (s) => valueOf(s, depth + 1)),
          { requiredKeys: [] },
        );
      }
      return fc.dictionary(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ maxLength: 50 }), { maxKeys: 4 });
    default:
      return fc.oneof(ids, fc.string({ maxLength: Math.min(schema.maxLength ?? 60, 60) }), fc.constantFrom('usd', 'eur', 'card', 'pm_card_visa', 'manual'));
  }
}

function mapValues<T, U>(record: Record<string, T>, map: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]));
}

/** The operation's parameters as the spec documents them: the form body of a POST, the query of a GET. */
export function operationParams(item: Record<string, unknown>, method: 'GET' | 'POST' | 'DELETE'): Record<string, Schema> {
  const operation = item[method.toLowerCase()] as {
    parameters?: { in: string; name: string; schema: Schema }[];
    requestBody?: { content?: Record<string, { schema?: Schema }> };
  };
  if (method === 'POST') return operation.requestBody?.content?.['application/x-www-form-urlencoded']?.schema?.properties ?? {};
  return Object.fromEntries((operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => [p.name, p.schema]));
}
