/**
 * Keeps input values (which may be credentials) out of GraphQL request errors: an envelop plugin for our
 * Yoga server and for a federation gateway in front of it (examples/hive-gateway/gateway.config.ts).
 * It imports no runtime code from Yoga or envelop, only their plugin type, so a gateway loads it as is.
 */
import { type ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * graphql-js quotes the offending input in request errors ("got invalid value {...}", "found ...",
 * "cannot represent ...: <value>"), and Yoga's JSON parser attaches an `originalError` quoting the raw
 * body. That input may be a credential, so those parts are cut out.
 */
export function withoutInputValues(error: GraphQLError): GraphQLError {
  const original = error.originalError;
  let message = error.message;
  const variable = /^Variable "(\$[^"]+)" got invalid value /s.exec(message);
  if (variable) {
    const reason = original?.message ?? '';
    const prefix = reason ? message.slice(0, message.length - reason.length - 2) : message;
    const at = / at "[^"]*"$/.exec(prefix)?.[0] ?? '';
    message = `Variable "${variable[1]}" got an invalid value${at}${reason ? `; ${reason}` : ''}`;
  }
  message = message
    .replace(/(cannot represent[^:]*value): .*?(?=; |$)/gs, '$1.')
    .replace(/, found [^;]*?(?=; |$)/gs, '.')
    .replace(/Value ".*?" does not exist in/gs, 'The value does not exist in');
  if (error.extensions && 'originalError' in error.extensions) delete error.extensions.originalError;
  if (message === error.message) return error;
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: error.extensions,
  });
}

function redactErrors<T>(errors: readonly T[]): T[] {
  return errors.map((error) => (error instanceof GraphQLError ? (withoutInputValues(error) as T) : error));
}

function redactResult<T extends ExecutionResult>(result: T): T {
  return result.errors?.length ? { ...result, errors: redactErrors(result.errors) } : result;
}

/**
 * Redacts input values out of every error a request can get: validation (literals in the document),
 * execution (variable coercion: where graphql-js, Yoga and Hive Gateway report bad variables) and, as
 * the last step before the response is written, the request pipeline's own errors (e.g. a body that is
 * not JSON). Put it first in the plugin list, so that plugins after it (tracing, logging, usage
 * reporting) see the redacted errors too.
 */
export function useRedactInputValues(): Plugin {
  return {
    onValidate:
      () =>
      ({ result, setResult }) => {
        if (result.length) setResult(redactErrors(result));
      },
    onExecute: () => ({
      onExecuteDone({ result, setResult }) {
        if (Symbol.asyncIterator in result) {
          return { onNext: ({ result, setResult }) => setResult(redactResult(result)) };
        }
        setResult(redactResult(result));
      },
    }),
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result)) setResult(result.map(redactResult));
      else if (!(Symbol.asyncIterator in result)) setResult(redactResult(result));
    },
  };
}
