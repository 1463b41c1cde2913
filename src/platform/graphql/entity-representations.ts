import { InputValidationError } from '@pothos/plugin-validation';
import { type GraphQLSchema, getNamedType, isUnionType } from 'graphql';
import type { Issue } from '../../domain/errors.js';
import { unstorableText } from '../../domain/validation.js';

/**
 * `_entities(representations: [_Any!]!)` is added by @apollo/subgraph, outside the builder, so no
 * Pothos plugin sees its argument. This gives it the checks every other argument gets: storable text
 * (as StorableInputPlugin), and representations that are objects naming an entity type (else
 * @apollo/subgraph throws a plain Error, an INTERNAL_SERVER_ERROR). A refusal is BAD_USER_INPUT.
 */
export function checkEntityRepresentations(schema: GraphQLSchema): void {
  const field = schema.getQueryType()?.getFields()._entities;
  const resolve = field?.resolve;
  if (!field || !resolve) return;
  const union = getNamedType(field.type);
  const entityTypes = isUnionType(union) ? union.getTypes().map((t) => t.name) : [];
  field.resolve = (source, args, context, info) => {
    const issues = representationIssues(args.representations, entityTypes);
    if (issues.length) {
      throw new InputValidationError({
        issues: issues.map(({ path, message, code }) => ({ path: path.map(String), message, code })),
      });
    }
    return resolve(source, args, context, info);
  };
}

function representationIssues(representations: unknown[], entityTypes: string[]): Issue[] {
  const unstorable = unstorableText(representations, ['representations']);
  if (unstorable.length) return unstorable;
  return representations.flatMap((representation, i): Issue[] => {
    const at = ['representations', i];
    if (typeof representation !== 'object' || representation === null || Array.isArray(representation)) {
      return [{ path: at, message: 'Input should be a valid object', code: 'dict_type' }];
    }
    const typename = (representation as { __typename?: unknown }).__typename;
    if (typeof typename === 'string' && entityTypes.includes(typename)) return [];
    return [
      { path: [...at, '__typename'], message: `Input should be ${entityTypes.join(', ')}`, code: 'enum' },
    ];
  });
}
