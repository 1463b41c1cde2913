import { UnavailableError, ValidationError } from '../../domain/errors.js';
import type { Metrics, StoreOperation, StoreOutcome } from '../metrics.js';
import { CredentialNotFoundError, type CredentialStore } from './credential-store.js';

/**
 * The CredentialStore port with every call counted and timed (`credential_store_calls_total`,
 * `credential_store_call_duration_seconds`) by store kind, operation and outcome. Labels never
 * include the reference or the value: only the fixed operation and outcome names.
 */
export function instrumentStore(store: CredentialStore, metrics: Metrics): CredentialStore {
  async function observe<T>(operation: StoreOperation, call: () => Promise<T>): Promise<T> {
    const stopTimer = metrics.storeDuration.startTimer({ store: store.kind, operation });
    let outcome: StoreOutcome = 'success';
    try {
      return await call();
    } catch (error) {
      outcome = outcomeOf(error);
      throw error;
    } finally {
      stopTimer();
      metrics.storeCalls.inc({ store: store.kind, operation, outcome });
    }
  }
  return {
    kind: store.kind,
    put: (ref, value, tx, latest) => observe('put', () => store.put(ref, value, tx, latest)),
    prune: (ref, keepVersion, tx) => observe('prune', () => store.prune(ref, keepVersion, tx)),
    get: (ref, version, sql) => observe('get', () => store.get(ref, version, sql)),
    delete: (ref, sql) => observe('delete', () => store.delete(ref, sql)),
    listRefs: (sql) => observe('listRefs', () => store.listRefs(sql)),
    ping: (sql) => observe('ping', () => store.ping(sql)),
    settled: () => store.settled(),
    close: () => store.close(),
  };
}

function outcomeOf(error: unknown): StoreOutcome {
  if (error instanceof CredentialNotFoundError) return 'not_found';
  if (error instanceof UnavailableError) return 'unavailable';
  if (error instanceof ValidationError) return 'rejected';
  return 'error';
}
