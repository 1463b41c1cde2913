import {
  type ASTVisitor,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';

/** Bounds on one operation, so a single request cannot make the server do unbounded work. */
export const GRAPHQL_LIMITS = {
  maxTokens: 5000,
  maxDepth: 12,
  maxAliases: 30,
  /** Estimated cost: each field costs 1, multiplied by the `first` of the connections around it. */
  maxCost: 20_000,
} as const;

const DEFAULT_PAGE = 50;

function limitError(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX' } });
}

/** Depth, alias and cost limits as one validation rule (fragments expanded, cycles ignored, introspection exempt). */
export function operationLimitsRule(context: ValidationContext): ASTVisitor {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of context.getDocument().definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }

  function measure(
    set: SelectionSetNode,
    depth: number,
    seen: Set<string>,
  ): { depth: number; aliases: number; cost: number } {
    let result = { depth, aliases: 0, cost: 0 };
    for (const selection of set.selections) {
      let inner: { depth: number; aliases: number; cost: number } | undefined;
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value.startsWith('__')) {
          // Introspection is bounded by the schema itself; its aliases still count.
          result.aliases += selection.alias ? 1 : 0;
          continue;
        }
        const first = selection.arguments?.find((a) => a.name.value === 'first');
        const multiplier =
          first?.value.kind === Kind.INT ? Number(first.value.value) : first ? DEFAULT_PAGE : 1;
        const child = selection.selectionSet
          ? measure(selection.selectionSet, depth + 1, seen)
          : { depth, aliases: 0, cost: 0 };
        inner = {
          depth: child.depth,
          aliases: child.aliases + (selection.alias ? 1 : 0),
          cost: 1 + multiplier * child.cost,
        };
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        inner = measure(selection.selectionSet, depth, seen);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (fragment && !seen.has(name))
          inner = measure(fragment.selectionSet, depth, new Set([...seen, name]));
      }
      if (inner) {
        result = {
          depth: Math.max(result.depth, inner.depth),
          aliases: result.aliases + inner.aliases,
          cost: result.cost + inner.cost,
        };
      }
    }
    return result;
  }

  return {
    OperationDefinition(operation) {
      const { depth, aliases, cost } = measure(operation.selectionSet, 1, new Set());
      if (depth > GRAPHQL_LIMITS.maxDepth) {
        context.reportError(
          limitError(`The operation is ${depth} levels deep; at most ${GRAPHQL_LIMITS.maxDepth} are allowed`),
        );
      }
      if (aliases > GRAPHQL_LIMITS.maxAliases) {
        context.reportError(
          limitError(
            `The operation uses ${aliases} aliases; at most ${GRAPHQL_LIMITS.maxAliases} are allowed`,
          ),
        );
      }
      if (cost > GRAPHQL_LIMITS.maxCost) {
        context.reportError(
          limitError(
            `The operation's estimated cost is ${cost}; at most ${GRAPHQL_LIMITS.maxCost} is allowed`,
          ),
        );
      }
    },
  };
}
