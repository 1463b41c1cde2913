import { describe, expect, it } from 'vitest';
import { camelKeys, patchOf } from '../src/domain/names.js';

describe('patchOf: the partial-update rule of both doors', () => {
  it('leaves out omitted fields, and null on a field that cannot be empty', () => {
    expect(patchOf({ name: null, bucket_name: undefined, region: 'eu-west-1' }, [])).toEqual({
      region: 'eu-west-1',
    });
  });

  it('keeps null on a clearable field: it clears it', () => {
    expect(patchOf({ description: null, name: null }, ['description'])).toEqual({ description: null });
  });

  it('names the fields in camelCase, keeping values as sent', () => {
    const mappings = [{ field_name: 'a', reference: 'b' }];
    expect(patchOf({ endpoint_url: 'https://x', event_types: mappings, active: false })).toEqual({
      endpointUrl: 'https://x',
      eventTypes: mappings,
      active: false,
    });
  });

  it('an empty patch changes nothing', () => {
    expect(patchOf({})).toEqual({});
  });
});

describe('camelKeys', () => {
  it('renames every key and keeps null', () => {
    expect(camelKeys({ secret_id: 'x', description: null, location_type: 'S3' })).toEqual({
      secretId: 'x',
      description: null,
      locationType: 'S3',
    });
  });
});
