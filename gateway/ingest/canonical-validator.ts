/**
 * Validates posted CloudEvents: the envelope (`schemas/canonical/envelope.schema.json`), then
 * `data` against the schema whose `x-koppel-type` equals the event's `type`.
 *
 * Every schema is compiled once, into one Ajv instance, when the validator is created: ingest
 * calls `validate` for every message, so the hot path only runs compiled code and allocates
 * nothing when the event is valid.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { isValidBsn, isValidRsin } from '../adapter-kit/bsn.ts';
import { projectPath } from '../adapter-kit/project-files.ts';

export interface FieldError {
  readonly pointer: string;
  readonly detail: string;
}

export type Verdict = { ok: true; type: string } | { ok: false; status: 400 | 422; errors: FieldError[] };

export interface CanonicalValidator {
  readonly types: readonly string[];
  /** Envelope and data; pointers are relative to the event: `/source`, `/data/zaak/initiator/bsn`. 422 only when the envelope is valid but `type` is unknown. */
  validate(event: unknown): Verdict;
  /**
   * The schema document of a type (for GET /v1/schemas/{type}), or undefined; `envelope` gives the
   * envelope schema (no type can be called that: types contain a dot). Frozen and self-contained:
   * every schema it refers to is embedded under `definitions` with its own `$id`, where the relative
   * `$ref`s resolve, so a developer's validator needs nothing else.
   */
  schemaOf(type: string): object | undefined;
  /** The JSON pointer of the employer id in events of this type (`x-koppel-employer`), if any. */
  employerPointer(type: string): string | undefined;
}

/** `$id`s are `<ID_BASE><path below schemas/canonical>`, so relative `$ref`s resolve like file paths. */
const ID_BASE = 'https://koppel.dev/schemas/canonical/';
const DEFAULT_DIR = projectPath('schemas/canonical');
const ENVELOPE_FILE = 'envelope.schema.json';

interface SchemaDocument {
  readonly $id?: unknown;
  readonly 'x-koppel-type'?: unknown;
  readonly 'x-koppel-employer'?: unknown;
}

interface TypeEntry {
  readonly validate: ValidateFunction;
  readonly schema: object;
  /** `schema` with the documents it refers to embedded, as served. */
  readonly bundled: object;
  readonly employerPointer: string | undefined;
  /** Returned for every valid event of this type, so success allocates nothing. */
  readonly accepted: Verdict;
}

export function createCanonicalValidator(schemasDir: string = DEFAULT_DIR): CanonicalValidator {
  const ajv = new Ajv({
    allErrors: true,
    // Errors then carry their parentSchema, where `x-koppel-errors` holds human sentences.
    verbose: true,
    discriminator: true,
    // 12.34 / 0.01 is 1233.9999999999998 in floating point; "two decimals" must still pass.
    multipleOfPrecision: 9,
    // Extension attributes and template variables are string | number | boolean by design.
    allowUnionTypes: true,
  });
  addFormats.default(ajv);
  ajv.addFormat('bsn', { type: 'string', validate: isValidBsn });
  ajv.addFormat('rsin', { type: 'string', validate: isValidRsin });
  ajv.addVocabulary(['x-koppel-type', 'x-koppel-employer', 'x-koppel-errors']);

  const documents = new Map<string, SchemaDocument>();
  for (const relative of schemaFiles(schemasDir)) {
    const document = JSON.parse(readFileSync(join(schemasDir, relative), 'utf8')) as SchemaDocument;
    if (document.$id !== ID_BASE + relative) {
      throw new Error(
        `schemas/canonical/${relative}: $id must be ${ID_BASE + relative}, is ${String(document.$id)}`,
      );
    }
    ajv.addSchema(document as object);
    documents.set(relative, document);
  }

  const envelope: object | undefined = documents.get(ENVELOPE_FILE);
  if (envelope === undefined) throw new Error(`schemas/canonical/${ENVELOPE_FILE} is missing`);
  const validateEnvelope = ajv.getSchema(ID_BASE + ENVELOPE_FILE) as ValidateFunction;

  const byType = new Map<string, TypeEntry>();
  for (const [relative, document] of documents) {
    if (relative === ENVELOPE_FILE || relative.startsWith('defs/')) continue;
    const type = document['x-koppel-type'];
    const pointer = document['x-koppel-employer'];
    if (typeof type !== 'string') throw new Error(`schemas/canonical/${relative}: x-koppel-type is missing`);
    if (byType.has(type)) throw new Error(`schemas/canonical/${relative}: type ${type} is declared twice`);
    if (pointer !== undefined && (typeof pointer !== 'string' || !pointer.startsWith('/data/'))) {
      throw new Error(`schemas/canonical/${relative}: x-koppel-employer must be a JSON pointer below /data/`);
    }
    byType.set(type, {
      validate: ajv.getSchema(ID_BASE + relative) as ValidateFunction,
      schema: document,
      bundled: bundle(document, documents),
      employerPointer: pointer,
      accepted: Object.freeze({ ok: true, type }),
    });
  }
  // Compiled above; freezing now keeps callers of schemaOf() from changing what Ajv compiled.
  for (const document of documents.values()) deepFreeze(document);
  for (const entry of byType.values()) deepFreeze(entry.bundled);
  const types = Object.freeze([...byType.keys()].sort());

  return {
    types,
    validate(event) {
      if (validateEnvelope(event)) {
        const { type, data } = event as { type: string; data: unknown };
        const entry = byType.get(type);
        if (entry === undefined) {
          return {
            ok: false,
            status: 422,
            errors: [
              {
                pointer: '/type',
                detail: `must be a known message type; '${type}' is not (see GET /v1/schemas)`,
              },
            ],
          };
        }
        if (entry.validate(data)) return entry.accepted;
        return { ok: false, status: 400, errors: fieldErrors(entry.validate.errors, '/data', []) };
      }
      const errors = fieldErrors(validateEnvelope.errors, '', []);
      // Report the data's errors too when the type is known, so one answer lists everything.
      if (isObject(event)) {
        const { type, data } = event as { type?: unknown; data?: unknown };
        const entry = typeof type === 'string' ? byType.get(type) : undefined;
        if (entry !== undefined && isObject(data) && !entry.validate(data))
          fieldErrors(entry.validate.errors, '/data', errors);
      }
      return { ok: false, status: 400, errors };
    },
    schemaOf: (type) => (type === 'envelope' ? envelope : byType.get(type)?.bundled),
    employerPointer: (type) => byType.get(type)?.employerPointer,
  };
}

function schemaFiles(dir: string): string[] {
  const isSchema = (name: string): boolean => name.endsWith('.schema.json');
  const top = readdirSync(dir).filter(isSchema);
  const defs = readdirSync(join(dir, 'defs'))
    .filter(isSchema)
    .map((name) => `defs/${name}`);
  return [...defs, ...top].sort();
}

function fieldErrors(
  errors: readonly ErrorObject[] | null | undefined,
  prefix: string,
  out: FieldError[],
): FieldError[] {
  if (!errors) return out;
  const suppressed = collapsedBranches(errors);
  for (const error of errors) {
    if (error.keyword === 'if') continue; // only says "must match then"; the then-errors say what
    if (suppressed !== undefined && suppressed.some((branch) => isInside(error, branch))) continue;
    out.push(fieldError(error, prefix));
  }
  return out;
}

/** oneOf/anyOf/not errors whose schema names one sentence: their branch errors are noise. */
function collapsedBranches(errors: readonly ErrorObject[]): ErrorObject[] | undefined {
  let found: ErrorObject[] | undefined;
  for (const error of errors) {
    if (
      customDetail(error) !== undefined &&
      (error.keyword === 'oneOf' || error.keyword === 'anyOf' || error.keyword === 'not')
    ) {
      (found ??= []).push(error);
    }
  }
  return found;
}

function isInside(error: ErrorObject, branch: ErrorObject): boolean {
  return (
    error !== branch &&
    error.schemaPath.startsWith(`${branch.schemaPath}/`) &&
    error.instancePath.startsWith(branch.instancePath)
  );
}

/**
 * A schema may word its own errors: `"x-koppel-errors": [{ "keyword": "pattern", "detail": "must be a URN" }]`.
 * A list, not a keyword-keyed object: json-schema-to-typescript would take `{ "anyOf": "…" }` for a schema.
 */
function customDetail(error: ErrorObject): string | undefined {
  const messages = (error.parentSchema as { 'x-koppel-errors'?: readonly CustomError[] } | undefined)?.[
    'x-koppel-errors'
  ];
  return messages?.find((message) => message.keyword === error.keyword)?.detail;
}

interface CustomError {
  readonly keyword: string;
  readonly detail: string;
}

function fieldError(error: ErrorObject, prefix: string): FieldError {
  const at = prefix + error.instancePath;
  const params = error.params as Record<string, unknown>;
  const custom = customDetail(error);
  if (custom !== undefined) return { pointer: at, detail: custom };
  switch (error.keyword) {
    case 'required':
      return {
        pointer: child(at, String(params.missingProperty)),
        detail: `must have required property '${String(params.missingProperty)}'`,
      };
    case 'additionalProperties':
      return {
        pointer: child(at, String(params.additionalProperty)),
        detail: `must NOT have additional property '${String(params.additionalProperty)}'`,
      };
    case 'format':
      return {
        pointer: at,
        detail: FORMAT_DETAILS[String(params.format)] ?? `must match format "${String(params.format)}"`,
      };
    case 'type':
      return { pointer: at, detail: `must be ${typeList(String(params.type))}` };
    case 'const':
      return { pointer: at, detail: `must be ${JSON.stringify(params.allowedValue)}` };
    case 'enum':
      return {
        pointer: at,
        detail: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'discriminator': {
      const tag = String(params.tag);
      if (params.tagValue === undefined)
        return { pointer: child(at, tag), detail: `must have required property '${tag}'` };
      if (params.error === 'tag') return { pointer: child(at, tag), detail: 'must be a string' };
      return {
        pointer: child(at, tag),
        detail: `must be one of the allowed values; ${JSON.stringify(params.tagValue)} is not`,
      };
    }
    default:
      if (error.propertyName !== undefined) {
        return {
          pointer: child(at, error.propertyName),
          detail: `property name ${error.message ?? 'is invalid'}`,
        };
      }
      return { pointer: at, detail: error.message ?? `fails "${error.keyword}"` };
  }
}

const FORMAT_DETAILS: Readonly<Record<string, string>> = {
  bsn: 'must be a valid BSN (elfproef)',
  rsin: 'must be a valid RSIN (elfproef)',
  date: 'must be a date (YYYY-MM-DD)',
  'date-time': 'must be a date-time with time zone (RFC 3339, e.g. 2025-03-01T09:30:00+01:00)',
  uri: 'must be an absolute URI',
  email: 'must be an e-mail address',
  uuid: 'must be a UUID',
};

const ARTICLES: Readonly<Record<string, string>> = {
  object: 'an object',
  array: 'an array',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
  null: 'null',
};

function typeList(types: string): string {
  const words = types.split(',').map((t) => ARTICLES[t] ?? t);
  return words.length === 1
    ? (words[0] as string)
    : `${words.slice(0, -1).join(', ')} or ${words.at(-1) as string}`;
}

function child(pointer: string, name: string): string {
  return `${pointer}/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const member of Object.values(value)) deepFreeze(member);
}

/** The schema with every document it refers to (transitively) embedded under `definitions`. */
function bundle(schema: SchemaDocument, documents: ReadonlyMap<string, SchemaDocument>): object {
  const embedded = new Map<string, SchemaDocument>();
  const visit = (node: unknown, base: string): void => {
    if (Array.isArray(node)) return node.forEach((item) => visit(item, base));
    if (!isObject(node)) return;
    const ref = (node as { $ref?: unknown }).$ref;
    if (typeof ref === 'string' && !ref.startsWith('#')) {
      const target = new URL(ref, base).href.split('#')[0] ?? '';
      const relative = target.startsWith(ID_BASE) ? target.slice(ID_BASE.length) : undefined;
      const document = relative === undefined ? undefined : documents.get(relative);
      if (relative !== undefined && document !== undefined && !embedded.has(relative)) {
        embedded.set(relative, document);
        visit(document, target);
      }
    }
    for (const value of Object.values(node as Record<string, unknown>)) visit(value, base);
  };
  visit(schema, String(schema.$id));
  const own = (schema as { definitions?: Record<string, unknown> }).definitions ?? {};
  return { ...schema, definitions: { ...own, ...Object.fromEntries(embedded) } };
}
