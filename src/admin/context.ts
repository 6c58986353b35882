// What a route handler of the administration API gets, and how it answers.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../store/index.ts';
import type { AccessControl, Principal } from './auth.ts';
import { ApiProblem } from './problem.ts';
import type { MaintenanceRunner } from './maintenance-runner.ts';
import type { SyncRunner } from './sync-runner.ts';

export interface HandlerContext<P = any, Q = any, B = any> {
  readonly store: Store;
  readonly sync: SyncRunner;
  /** Cleanup and content verification started through the API. */
  readonly maintenance: MaintenanceRunner;
  readonly access: AccessControl;
  readonly principal: Principal | undefined;
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  /** Records a change in the audit log, as the caller. */
  audit(action: string, target: string | undefined, detail?: unknown): Promise<void>;
}

/** The signed-in caller of a route that needs one. */
export function caller(ctx: HandlerContext): Principal {
  if (ctx.principal === undefined) throw new ApiProblem(401, 'not signed in');
  return ctx.principal;
}

/** Answers anything but a JSON body (CSV, events) through `reply` itself and returns this. */
export const ANSWERED = Symbol('answered');

export type Handler = (ctx: HandlerContext) => Promise<unknown>;

