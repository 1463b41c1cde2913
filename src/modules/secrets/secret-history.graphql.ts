import { builder } from '../../platform/graphql/builder.js';
import { connectionFrom, connectionOf, pageArgs } from '../../platform/graphql/connection.js';
import { AuthMethodEnum, SecretTypeEnum } from '../../platform/graphql/enums.js';
import {
  argumentPath,
  translate,
  VERSIONED_MUTATION_ERRORS,
  wrappedResult,
} from '../../platform/graphql/error-types.js';
import { idempotencyKeyArg, mutateCommand } from '../../platform/graphql/idempotency.js';
import { resourceArgs, resourceIds } from '../../platform/graphql/ids.js';
import type { SecretVersion } from './secret.entity.js';
import { SecretRef } from './secret.graphql.js';

const SecretVersionRef = builder.objectRef<SecretVersion>('SecretVersion').implement({
  description: 'One accepted change of a secret: what changed (field names only), who, when. Never a value.',
  fields: (t) => ({
    version: t.exposeInt('version', { description: 'The secret version this change produced.' }),
    changedFields: t.exposeStringList('changedFields', {
      description: 'REST names of the changed fields, e.g. ["credentials"].',
    }),
    secretType: t.expose('secretType', { type: SecretTypeEnum, description: 'Type after the change.' }),
    authMethod: t.expose('authMethod', {
      type: AuthMethodEnum,
      description: 'Auth method after the change.',
    }),
    actorUserId: t.exposeID('actorUserId', { nullable: true, description: 'The user behind the change.' }),
    actorApiKeyId: t.exposeID('actorApiKeyId', {
      nullable: true,
      description: 'The API key the change was made with.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the change was accepted.' }),
  }),
});

const SecretVersionConnection = connectionOf('SecretVersion', SecretVersionRef);

builder.objectField(SecretRef, 'versions', (t) =>
  t.field({
    type: SecretVersionConnection,
    description: 'The history of accepted changes, newest first. Needs secrets:read.',
    args: {
      first: t.arg.int({ description: 'Page size, 1–100 (default 50).' }),
      after: t.arg.string({ description: 'The `endCursor` of the previous page.' }),
    },
    resolve: async (secret, args, ctx) => {
      const { offset, limit } = await translate(async () => pageArgs(args), argumentPath);
      const ids = { teamId: secret.teamId, secretId: secret.id };
      const page = await ctx.services.secretHistory.versions(await ctx.actor(), ids, {
        offset,
        limit,
        sortOrder: 'desc',
      });
      return connectionFrom(page, offset);
    },
  }),
);

builder.mutationField('rollbackSecret', (t) =>
  t.field({
    type: SecretRef,
    description:
      "Makes an earlier version's credentials (or field mappings) current again, as a new version. ConflictError when that version's stored value has expired or the auth method now needs other fields. Needs secrets:update and admin.",
    args: {
      ...resourceArgs(t.arg, 'secretId', 'secret'),
      version: t.arg.int({ required: true, description: 'The version whose credentials to restore.' }),
      expectedVersion: t.arg.int({ description: 'Apply only if the secret is still at this version.' }),
      idempotencyKey: idempotencyKeyArg(t.arg),
    },
    errors: wrappedResult(
      'RollbackSecret',
      {
        success: 'The credentials were restored.',
        union: 'The secret after the rollback, or why nothing changed.',
        data: ['secret', 'The secret after the rollback.'],
      },
      VERSIONED_MUTATION_ERRORS,
    ),
    resolve: (_, args, ctx, info) =>
      mutateCommand(
        ctx,
        info,
        args,
        (actor) =>
          ctx.services.secretHistory.rollback(
            actor,
            ctx.meta,
            resourceIds(args, 'secretId'),
            { version: args.version },
            { expectedVersion: args.expectedVersion ?? undefined },
          ),
        [],
      ),
  }),
);
