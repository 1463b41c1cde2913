import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import { InputValidationError } from '@pothos/plugin-validation';
import { unstorableText } from '../../domain/validation.js';

/**
 * Checks the arguments of every field, before any other argument check or resolver runs: a string
 * anywhere in them (nested inputs and list items included) that PostgreSQL cannot store is an
 * InputValidationError at its argument path, e.g. ["filter", "q"]. That is the ValidationError member
 * on mutations and a BAD_USER_INPUT error on queries. The rule is REST's (`parseOrThrow`), so a new
 * argument cannot miss it.
 */
export class StorableInputPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onOutputFieldConfig(fieldConfig: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> {
    if (Object.keys(fieldConfig.args).length === 0) return fieldConfig;
    return { ...fieldConfig, argMappers: [...fieldConfig.argMappers, refuseUnstorableText] };
  }
}

function refuseUnstorableText(args: Record<string, unknown>): Record<string, unknown> {
  const issues = unstorableText(args);
  if (issues.length === 0) return args;
  throw new InputValidationError({
    issues: issues.map(({ path, message, code }) => ({ path: path.map(String), message, code })),
  });
}

const pluginName = 'storableInput';

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      storableInput: StorableInputPlugin<Types>;
    }
  }
}

SchemaBuilder.registerPlugin(pluginName, StorableInputPlugin);

export default pluginName;
