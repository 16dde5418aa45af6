import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isInterfaceType,
  isObjectType,
  isScalarType,
  Kind,
  parse,
  print,
  specifiedScalarTypes,
  TypeInfo,
  validate,
  visit,
  visitWithTypeInfo,
  type DefinitionNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { documentsSent } from './shopify-documents.ts';

/**
 * The Admin API schema the Shopify documents are checked against, and the tool that derives it.
 *
 * `shopify-admin-subset.graphql` (next to this file) holds only the types, fields and arguments
 * verite's documents use, cut from a full Admin API schema; its header says which. To check
 * the documents against a full schema (a new API version) and write the subset again:
 *
 *   npx tsx tests/extractors/support/shopify-admin-schema.ts path/to/admin-schema.graphql "<where it came from>"
 */
export const SUBSET_FILE = join(dirname(fileURLToPath(import.meta.url)), 'shopify-admin-subset.graphql');

/** What is wrong with each document against `schema`: validation errors, and deprecated fields or arguments it uses. */
export function problems(schema: GraphQLSchema, documents: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [name, text] of documents) {
    const document = parse(text);
    for (const error of validate(schema, document)) out.push(`${name}: ${error.message}`);
    const info = new TypeInfo(schema);
    visit(
      document,
      visitWithTypeInfo(info, {
        Field() {
          const field = info.getFieldDef();
          if (field?.deprecationReason) out.push(`${name}: ${info.getParentType()?.name}.${field.name} is deprecated (${field.deprecationReason})`);
        },
        Argument() {
          const argument = info.getArgument();
          if (argument?.deprecationReason) out.push(`${name}: argument ${argument.name} is deprecated (${argument.deprecationReason})`);
        },
      }),
    );
  }
  return out;
}

/**
 * The part of `schema` the documents use, as SDL: every field they select (with the arguments
 * they pass and the ones the schema requires), the enums and scalars of those, the types their
 * fragments name and the interfaces those implement. Descriptions and directives other than
 * `@deprecated` are left out.
 */
export function subsetOf(schema: GraphQLSchema, documents: DocumentNode[]): string {
  const fields = new Map<string, Map<string, Set<string>>>(); // type → field → arguments used
  const named = new Set<string>();
  const use = (type: GraphQLNamedType | null | undefined) => type && named.add(type.name);
  for (const document of documents) {
    const info = new TypeInfo(schema);
    visit(
      document,
      visitWithTypeInfo(info, {
        Field(node) {
          const parent = info.getParentType();
          const field = info.getFieldDef();
          if (!parent || !field) return;
          use(parent);
          const byField = fields.get(parent.name) ?? new Map<string, Set<string>>();
          fields.set(parent.name, byField);
          const args = byField.get(field.name) ?? new Set<string>();
          byField.set(field.name, args);
          for (const a of node.arguments ?? []) args.add(a.name.value);
          for (const a of field.args) {
            if (a.type.toString().endsWith('!') && a.defaultValue === undefined) args.add(a.name);
            if (args.has(a.name)) use(getNamedType(a.type));
          }
          use(getNamedType(field.type));
        },
        InlineFragment() {
          use(info.getType() && getNamedType(info.getType()!));
        },
        VariableDefinition(node) {
          use(schema.getType(namedTypeName(node.type)));
        },
      }),
    );
  }
  const root = [schema.getQueryType(), schema.getMutationType()].filter((t) => t !== null && t !== undefined);
  for (const t of root) named.add(t.name);
  // An interface reached only through fragments (`node(id:) { ... on Order { … } }`) keeps the
  // fields its kept implementations select (`id` for Node): an interface needs one, and each
  // implementation is then written with them.
  for (const name of named) {
    const type = schema.getType(name);
    if (!isInterfaceType(type)) continue;
    const implementations = schema.getPossibleTypes(type).filter((t) => named.has(t.name));
    const own = fields.get(name) ?? new Map<string, Set<string>>();
    for (const f of Object.keys(type.getFields())) {
      // Selected on the implementation, or on another interface of it (BasicEvent's id through Event).
      const selected = (t: (typeof implementations)[number]) => fields.get(t.name)?.has(f) || t.getInterfaces().some((i) => fields.get(i.name)?.has(f));
      if (implementations.some(selected)) own.set(f, own.get(f) ?? new Set());
    }
    fields.set(name, own);
  }
  const definitions: DefinitionNode[] = [];
  for (const name of [...named].sort()) {
    const type = schema.getType(name)!;
    if (specifiedScalarTypes.some((s) => s.name === name)) continue;
    if (isScalarType(type)) definitions.push({ kind: Kind.SCALAR_TYPE_DEFINITION, name: { kind: Kind.NAME, value: name } });
    else if (isEnumType(type)) definitions.push({ ...type.astNode!, description: undefined, directives: [], values: type.astNode!.values!.map((v) => ({ ...v, description: undefined, directives: deprecatedOnly(v.directives) })) });
    else if (isObjectType(type) || isInterfaceType(type)) {
      const interfaces = type.getInterfaces().filter((i) => named.has(i.name));
      // An implementation carries every field its interfaces are kept with.
      const kept = new Map(fields.get(name) ?? []);
      for (const i of interfaces) for (const [f, args] of fields.get(i.name) ?? []) kept.set(f, new Set([...(kept.get(f) ?? []), ...args]));
      const fieldNodes = [...kept].sort(([a], [b]) => a.localeCompare(b)).map(([f, args]): FieldDefinitionNode => {
        const node = type.getFields()[f]!.astNode!;
        return { ...node, description: undefined, directives: deprecatedOnly(node.directives), arguments: node.arguments?.filter((a) => args.has(a.name.value)).map((a) => ({ ...a, description: undefined, directives: deprecatedOnly(a.directives) })) };
      });
      const base = { name: { kind: Kind.NAME, value: name }, interfaces: interfaces.map((i) => ({ kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: i.name } })), fields: fieldNodes };
      definitions.push(isObjectType(type) ? ({ kind: Kind.OBJECT_TYPE_DEFINITION, ...base } as DefinitionNode) : ({ kind: Kind.INTERFACE_TYPE_DEFINITION, ...base } as DefinitionNode));
    } else throw new Error(`the documents use ${name}, a kind of type the subset does not write`);
  }
  const schemaDefinition = `schema {\n  query: ${schema.getQueryType()!.name}\n  mutation: ${schema.getMutationType()!.name}\n}`;
  return `${schemaDefinition}\n\n${definitions.map((d) => print(d)).join('\n\n')}\n`;
}

function deprecatedOnly<T extends { name: { value: string } }>(directives: readonly T[] | undefined): T[] {
  return (directives ?? []).filter((d) => d.name.value === 'deprecated');
}

function namedTypeName(type: { kind: string; type?: unknown; name?: { value: string } }): string {
  return type.kind === Kind.NAMED_TYPE ? type.name!.value : namedTypeName(type.type as typeof type);
}

/** The command line: checks the documents against a full schema, then writes the subset with a header naming `source`. */
async function main(schemaFile: string, source: string): Promise<void> {
  process.env.VERITE_LOG_LEVEL ??= 'warn';
  const full = buildSchema(readFileSync(schemaFile, 'utf8'), { assumeValidSDL: true });
  const documents = await documentsSent();
  const found = problems(full, documents);
  if (found.length) {
    console.error(`${found.length} problem(s) against ${schemaFile}:\n${found.map((p) => `  - ${p}`).join('\n')}`);
    process.exitCode = 1;
    return;
  }
  const subset = subsetOf(full, [...documents.values()].map((d) => parse(d)));
  buildSchema(subset); // the subset must stand on its own
  const header = [
    '# The part of the Shopify GraphQL Admin API schema that verite\'s Shopify documents use:',
    '# derived, not copied whole, by tests/extractors/support/shopify-admin-schema.ts from',
    ...source.split('\n').map((line) => `# ${line}`),
    `# Documents checked: ${[...documents.keys()].sort().join(', ')}.`,
    '',
  ].join('\n');
  writeFileSync(SUBSET_FILE, `${header}\n${subset}`);
  console.log(`${documents.size} documents valid against ${schemaFile}, no deprecated field; wrote ${SUBSET_FILE}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [schemaFile, source] = process.argv.slice(2);
  if (!schemaFile || !source) {
    console.error('usage: npx tsx tests/extractors/support/shopify-admin-schema.ts <admin-schema.graphql> "<where it came from>"');
    process.exit(2);
  }
  await main(schemaFile, source);
}
