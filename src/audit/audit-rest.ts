import type { Route } from '../http/rest-router.js';
import type { Services } from '../services.js';

export function auditRoutes(_services: Services): Route[] {
  return [];
}
