import type { Location, Secret, VaultConnection } from '../entities/index.js';

/** REST response bodies, built from explicit allow-lists: nothing else ever leaves the service. */

export function iso(date: Date | string | null | undefined): string | null {
  return date ? new Date(date).toISOString() : null;
}

export function secretResponse(secret: Secret) {
  return {
    id: secret.id,
    name: secret.name,
    description: secret.description ?? null,
    secret_type: secret.secretType,
    auth_method: secret.authMethod,
    created_at: iso(secret.createdAt),
    created_by: secret.createdBy,
    updated_at: iso(secret.updatedAt),
    updated_by: secret.updatedBy,
  };
}

export function locationResponse(location: Location) {
  return {
    id: location.id,
    name: location.name,
    description: location.description ?? null,
    location_type: location.locationType,
    secret_id: location.secretId,
    bucket_name: location.bucketName,
    region: location.region ?? null,
    endpoint_url: location.endpointUrl ?? null,
    created_at: iso(location.createdAt),
    created_by: location.createdBy,
    updated_at: iso(location.updatedAt),
    updated_by: location.updatedBy,
  };
}

export function vaultConnectionResponse(connection: VaultConnection) {
  return {
    id: connection.id,
    name: connection.name,
    description: connection.description ?? null,
    vault_type: connection.vaultType,
    last_verified_at: iso(connection.lastVerifiedAt),
    created_at: iso(connection.createdAt),
    created_by: connection.createdBy,
  };
}
