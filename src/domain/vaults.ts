/** External vault types and the reference syntax each accepts. */
export const VAULT_TYPES = ['onepassword', 'doppler', 'infisical'] as const;
export type VaultType = (typeof VAULT_TYPES)[number];

const BARE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Returns a message when `reference` is not valid syntax for the vault type. */
export function checkReference(vaultType: VaultType, reference: string): string | undefined {
  if (vaultType === 'onepassword') {
    const match = /^op:\/\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(reference);
    return match ? undefined : 'must be a 1Password reference op://<vault>/<item>/<field>';
  }
  return BARE_KEY.test(reference)
    ? undefined
    : `must be a ${vaultType} secret name matching ${BARE_KEY.source}`;
}
