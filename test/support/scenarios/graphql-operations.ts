/**
 * Every argument of the GraphQL schema, read from the schema itself: one operation per root field that
 * takes arguments, with a variable for each of its arguments and for each argument of the fields it
 * selects (e.g. `Secret.versions(first, after)`). Tests and the fuzz run build their requests from
 * these, so a new field or argument is exercised as soon as it is in the schema.
 */
import {
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  getNamedType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
} from 'graphql';

export interface OperationVariable {
  /** The variable's name: the argument's, or for a selected field's argument `<field>_<argument>`. */
  name: string;
  type: GraphQLInputType;
  /** True for an argument of the root field; false for one of a field in its selection. */
  root: boolean;
}

export interface Operation {
  kind: 'query' | 'mutation';
  /** The root field. */
  field: string;
  /** `query Q($teamId: ID!, ...) { field(teamId: $teamId, ...) { ... } }`, valid against the schema. */
  document: string;
  variables: OperationVariable[];
}

/** How deep selections go below the root field (leaf fields only at the last level). */
const SELECTION_DEPTH = 2;

export function schemaOperations(schema: GraphQLSchema): Operation[] {
  const roots = [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
  ] as const;
  return roots.flatMap(([kind, type]) =>
    Object.values(type?.getFields() ?? {})
      .filter((field) => field.args.length > 0)
      .map((field) => operationFor(kind, field)),
  );
}

function operationFor(kind: 'query' | 'mutation', field: GraphQLField<unknown, unknown>): Operation {
  const variables = new Map<string, OperationVariable>();
  const call = `${field.name}${argumentsOf(field, '', variables)} ${selectionOf(field.type, variables, SELECTION_DEPTH)}`;
  const definitions = [...variables.values()].map((v) => `$${v.name}: ${String(v.type)}`).join(', ');
  return {
    kind,
    field: field.name,
    document: `${kind} ${kind === 'query' ? 'Q' : 'M'}(${definitions}) { ${call} }`,
    variables: [...variables.values()],
  };
}

function argumentsOf(
  field: GraphQLField<unknown, unknown>,
  prefix: string,
  variables: Map<string, OperationVariable>,
): string {
  if (field.args.length === 0) return '';
  const pairs = field.args.map((arg) => {
    const name = `${prefix}${arg.name}`;
    variables.set(name, { name, type: arg.type, root: prefix === '' });
    return `${arg.name}: $${name}`;
  });
  return `(${pairs.join(', ')})`;
}

function selectionOf(
  type: GraphQLOutputType,
  variables: Map<string, OperationVariable>,
  depth: number,
): string {
  const named: GraphQLNamedType = getNamedType(type);
  if (isLeafType(named)) return '';
  if (isUnionType(named)) {
    const members = named.getTypes().map((m) => `... on ${m.name} ${selectionOf(m, variables, depth)}`);
    return `{ __typename ${members.join(' ')} }`;
  }
  if (isInterfaceType(named) || !isObjectType(named)) return '{ __typename }';
  const fields = Object.values(named.getFields()).flatMap((f) => {
    if (isLeafType(getNamedType(f.type))) return [f.name];
    if (depth === 0 || f.args.some((a) => isNonNullType(a.type))) return [];
    return [
      `${f.name}${argumentsOf(f, `${f.name}_`, variables)} ${selectionOf(f.type, variables, depth - 1)}`,
    ];
  });
  return `{ __typename ${fields.join(' ')} }`;
}

/** A position inside a variable's value: object keys and list indices (always 0). */
export type ValuePath = (string | number)[];

/** Every leaf (scalar or enum) position inside values of `type`, each with its named type. */
export function leafPositions(type: GraphQLInputType, at: ValuePath = []): [ValuePath, GraphQLNamedType][] {
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner)) return leafPositions(inner.ofType, [...at, 0]);
  if (isInputObjectType(inner)) {
    return Object.values(inner.getFields()).flatMap((f) => leafPositions(f.type, [...at, f.name]));
  }
  return [[at, inner]];
}

/** graphql-js's way of naming a position in a variable, e.g. `filter.from` or `input.scopes[0]`. */
export function printVariablePath(variable: string, path: ValuePath): string {
  return variable + path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
}
