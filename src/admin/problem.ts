// RFC 9457 problem documents: every error the administration API answers is one of these.
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** An error the API answers as a problem document with this status. */
export class ApiProblem extends Error {
  override name = 'ApiProblem';
  readonly status: number;
  readonly errors?: readonly FieldError[];
  readonly headers?: Readonly<Record<string, string>>;
  constructor(status: number, detail: string, extra: { errors?: readonly FieldError[]; headers?: Record<string, string> } = {}) {
    super(detail);
    this.status = status;
    if (extra.errors !== undefined) this.errors = extra.errors;
    if (extra.headers !== undefined) this.headers = extra.headers;
  }
}

export const notFound = (detail: string): ApiProblem => new ApiProblem(404, detail);
export const conflict = (detail: string): ApiProblem => new ApiProblem(409, detail);
export const badRequest = (detail: string, field?: string): ApiProblem =>
  new ApiProblem(400, detail, field === undefined ? {} : { errors: [{ field, message: detail }] });

/** A zod failure as field errors: `body.updateIds.0`, `query.limit`. */
export function fieldErrors(where: string, error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue) => {
    const base = [where, ...issue.path.map(String)].join('.');
    // Unknown fields are named one by one, so a client sees which key to drop.
    if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => ({ field: `${base}.${k}`, message: 'unknown field' }));
    return [{ field: base, message: issue.message }];
  });
}

export function problemBody(status: number, detail: string, instance?: string, errors?: readonly FieldError[]): Record<string, unknown> {
  return {
    type: 'about:blank',
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    ...(instance !== undefined && { instance }),
    ...(errors !== undefined && errors.length > 0 && { errors }),
  };
}

export function sendProblem(reply: FastifyReply, problem: ApiProblem, instance?: string): FastifyReply {
  for (const [name, value] of Object.entries(problem.headers ?? {})) reply.header(name, value);
  return reply.code(problem.status).type('application/problem+json').send(problemBody(problem.status, problem.message, instance, problem.errors));
}
