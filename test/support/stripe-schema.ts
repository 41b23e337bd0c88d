import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule from 'ajv';
import type { ValidateFunction } from 'ajv';

// ajv is CommonJS; under NodeNext its class is the default export's `default`.
const Ajv = AjvModule.default;
type Ajv = InstanceType<typeof Ajv>;

/**
 * Checks response objects against Stripe's published OpenAPI description (API 2023-08-16), read from
 * `../shared/stripe-openapi/` beside the repository (or STRIPE_OPENAPI_SPEC). The spec is not copied
 * into the project. OpenAPI's `nullable` becomes JSON Schema's `anyOf [..., null]` for Ajv.
 */
const here = dirname(fileURLToPath(import.meta.url));
const SPEC_PATH = process.env.STRIPE_OPENAPI_SPEC ?? resolve(here, '../../../shared/stripe-openapi/spec3.2023-08-16.json');

type Schema = Record<string, unknown>;
let schemas: Record<string, Schema> | undefined;
let ajv: Ajv | undefined;
const validators = new Map<string, ValidateFunction>();

function load(): { schemas: Record<string, Schema>; ajv: Ajv } {
  if (schemas && ajv) return { schemas, ajv };
  if (!existsSync(SPEC_PATH)) throw new Error(`Stripe OpenAPI spec not found at ${SPEC_PATH}; set STRIPE_OPENAPI_SPEC`);
  const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as { components: { schemas: Record<string, Schema> } };
  schemas = spec.components.schemas;
  ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: 'stripe', components: { schemas: toJsonSchema(schemas) } });
  return { schemas, ajv };
}

function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'nullable' || key.startsWith('x-')) continue;
    out[key] = key === 'enum' ? value : toJsonSchema(value);
  }
  if ((node as Schema).nullable === true) {
    // A null-able enum lists null too, in JSON Schema terms.
    if (Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
    return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

/**
 * Problems with `object` as a Stripe `name`: schema violations, and fields the schema marks required
 * or nullable that the object leaves out (Payrail sends null where it has no value).
 */
export function stripeSchemaProblems(name: string, object: unknown): string[] {
  const { schemas, ajv } = load();
  const schema = schemas[name];
  if (!schema) return [`no schema named ${name}`];
  const validate = validators.get(name) ?? ajv.compile({ $ref: `stripe#/components/schemas/${name}` });
  validators.set(name, validate);
  const problems: string[] = [];
  if (!validate(object)) problems.push(...(validate.errors ?? []).slice(0, 10).map((e) => `${e.instancePath || '/'} ${e.message}`));
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema.required ?? []) as string[]);
  const record = object as Record<string, unknown>;
  for (const [field, definition] of Object.entries(properties)) {
    if ((required.has(field) || definition.nullable === true) && !(field in record)) problems.push(`missing field ${field}`);
  }
  return problems;
}
