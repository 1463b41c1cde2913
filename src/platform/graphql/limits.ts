import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import type { GraphQLArmorRejectCallback } from '@escape.tech/graphql-armor-types';
import {
  type ASTVisitor,
  type DocumentNode,
  GraphQLError,
  Kind,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
  validate,
  visit,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** Bounds on one operation, so a single request cannot make the server do unbounded work. */
export const GRAPHQL_LIMITS = {
  maxTokens: 5000,
  maxDepth: 12,
  maxAliases: 30,
  maxDirectives: 50,
  /** Named fragments in one document (see `maxFragmentsRule`). */
  maxFragments: 100,
  /** Estimated cost: each field costs 1; a field with `first`/`last` multiplies its own cost by it. */
  maxCost: 20_000,
} as const;

const QUERY_TOO_COMPLEX = 'QUERY_TOO_COMPLEX';

function limitError(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: QUERY_TOO_COMPLEX } });
}

/** GraphQL Armor prefixes its rejections with "Syntax Error: "; they are limits, reported with one code. */
const reportLimit: GraphQLArmorRejectCallback = (context, error) =>
  context?.reportError(limitError(error.message.replace(/^Syntax Error: /, '')));

/** Every rule reports (so all exceeded limits are named at once) instead of throwing out of validation. */
const rejection = { propagateOnRejection: false, onReject: [reportLimit] };

/** Fragments are priced once (GraphQL Armor memoizes them): a fragment spread 2^n times costs linear time. */
const costRule = costLimitRule({
  maxCost: GRAPHQL_LIMITS.maxCost,
  objectCost: 1,
  scalarCost: 1,
  depthCostFactor: 1,
  flattenFragments: true,
  ...rejection,
});

/**
 * graphql-js's OverlappingFieldsCanBeMerged rule takes time quadratic in the number of named fragments
 * (measured: 600 fragments, which fit in the token limit, cost 0.1–0.2 s of validation; 100 cost 2 ms).
 */
function maxFragmentsRule(context: ValidationContext): ASTVisitor {
  return {
    Document(document) {
      const count = document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).length;
      if (count > GRAPHQL_LIMITS.maxFragments) {
        context.reportError(
          limitError(`Fragments limit of ${GRAPHQL_LIMITS.maxFragments} exceeded, found ${count}.`),
        );
      }
    },
  };
}

/** Introspection's `__schema` is exempt from depth and cost (the schema bounds it); aliases count everywhere. */
const LIMIT_RULES: ValidationRule[] = [
  maxFragmentsRule,
  maxDepthRule({ n: GRAPHQL_LIMITS.maxDepth, flattenFragments: true, ...rejection }),
  maxAliasesRule({ n: GRAPHQL_LIMITS.maxAliases, allowList: [], ...rejection }),
  maxDirectivesRule({ n: GRAPHQL_LIMITS.maxDirectives, ...rejection }),
  costRule,
];

/**
 * GraphQL Armor's limits as Yoga plugins: tokens while parsing; fragments, depth, aliases, directives
 * and cost before graphql-js's own validation rules, which a document over a limit never reaches.
 */
export function operationLimitPlugins(): Plugin[] {
  const checked = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  return [
    maxTokensPlugin({
      n: GRAPHQL_LIMITS.maxTokens,
      onReject: [(_, error) => Object.assign(error.extensions, { code: QUERY_TOO_COMPLEX })],
    }),
    {
      onValidate({ params: { schema, documentAST }, setResult }) {
        // Yoga hands the same document object to every request with the same text.
        let errors = checked.get(documentAST);
        if (!errors) {
          errors = validate(schema, documentAST, LIMIT_RULES);
          checked.set(documentAST, errors);
        }
        if (errors.length) setResult(errors);
      },
    },
    pageSizeVariablesCost(),
  ];
}

/**
 * Validation sees no variables, so a `first: $n` is priced as 1 there. Such an operation is priced
 * again before it runs, with the variables' values in place.
 */
function pageSizeVariablesCost(): Plugin {
  const withoutPageSizeVariables = new WeakSet<DocumentNode>();
  return {
    onExecute({ args, setResultAndStopExecution }) {
      if (withoutPageSizeVariables.has(args.document)) return;
      let found = false;
      const priced = visit(args.document, {
        Argument(node) {
          if (!PAGE_SIZE_ARGUMENTS.has(node.name.value) || node.value.kind !== Kind.VARIABLE)
            return undefined;
          found = true;
          const value = args.variableValues?.[node.value.name.value];
          if (!Number.isSafeInteger(value)) return undefined;
          const literal: ValueNode = { kind: Kind.INT, value: String(value) };
          return { ...node, value: literal };
        },
      });
      if (!found) {
        withoutPageSizeVariables.add(args.document);
        return;
      }
      const errors = validate(args.schema, priced, [costRule]);
      if (errors.length) setResultAndStopExecution({ errors });
    },
  };
}

const PAGE_SIZE_ARGUMENTS = new Set(['first', 'last']);
