// The administration side of a running server (DESIGN §1 "Administration"): the REST API under
// /api/v1, its access control, the in-process "synchronize now", and the first administrator.
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../app/log.ts';
import type { Store } from '../store/index.ts';
import { registerAdminApi } from './api.ts';
import { AccessControl, type AuthOptions } from './auth.ts';
import { ADMIN_PASSWORD_ENV, ensureInitialAdmin } from './operations/accounts.ts';
import type { ContentStore } from '../content/index.ts';
import { MaintenanceRunner } from './maintenance-runner.ts';
import { SyncRunner, type SynchronizeFn } from './sync-runner.ts';

export { API_PREFIX, ROUTES, openApiDocument } from './openapi.ts';
export { CSRF_HEADER, SESSION_COOKIE, CSRF_COOKIE } from './auth.ts';

export interface Administration {
  readonly sync: SyncRunner;
  readonly maintenance: MaintenanceRunner;
  readonly access: AccessControl;
  /** Adds the API's routes to a listener. */
  register(app: FastifyInstance): Promise<void>;
  /** Stops a running synchronization (shutdown). */
  close(): Promise<void>;
}

export interface AdministrationOptions {
  readonly store: Store;
  readonly logger: Logger;
  readonly synchronize: SynchronizeFn;
  /** The content directory cleanup and verification work on (without one they answer 503). */
  readonly content?: ContentStore;
  readonly auth?: AuthOptions;
  readonly env?: NodeJS.ProcessEnv;
  /** Where the generated first password is printed (default stderr). */
  readonly announce?: (text: string) => void;
}

export async function createAdministration(options: AdministrationOptions): Promise<Administration> {
  const { store, logger } = options;
  const created = await ensureInitialAdmin(store, options.env ?? process.env);
  if (created !== undefined) {
    if (created.generatedPassword !== undefined) {
      // Once, on the console only: the log keeps that it happened, not the password.
      (options.announce ?? ((text) => process.stderr.write(text)))(
        `\nopenwsus: created the administrator "${created.name}" with the password\n\n    ${created.generatedPassword}\n\n` +
          `Sign in at /admin and change it (or set ${ADMIN_PASSWORD_ENV} before the first start). It is not shown again.\n\n`,
      );
    }
    logger.warn({ account: created.name, passwordFrom: created.generatedPassword === undefined ? ADMIN_PASSWORD_ENV : 'generated' }, 'created the first administrator');
  }
  const access = new AccessControl(store, options.auth);
  const sync = new SyncRunner(store, options.synchronize, { logger });
  const maintenance = new MaintenanceRunner(store, options.content, { logger });
  return {
    sync,
    maintenance,
    access,
    register: (app) => registerAdminApi(app, { store, sync, maintenance, access, logger }),
    close: async () => {
      await Promise.all([sync.cancel(), maintenance.close()]);
    },
  };
}
