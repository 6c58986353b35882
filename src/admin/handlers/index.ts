// Every route handler by the operationId the route table (openapi.ts) names.
import type { Handler } from '../context.ts';
import { accessHandlers } from './access.ts';
import { computerHandlers } from './computers.ts';
import { downstreamHandlers } from './downstream.ts';
import { maintenanceHandlers } from './maintenance.ts';
import { optionHandlers } from './options.ts';
import { overviewHandlers } from './overview.ts';
import { reportHandlers } from './reports.ts';
import { ruleHandlers } from './rules.ts';
import { syncHandlers } from './sync.ts';
import { updateHandlers } from './updates.ts';

export const HANDLERS: Readonly<Record<string, Handler>> = {
  ...accessHandlers,
  ...overviewHandlers,
  ...optionHandlers,
  ...syncHandlers,
  ...updateHandlers,
  ...computerHandlers,
  ...downstreamHandlers,
  ...ruleHandlers,
  ...reportHandlers,
  ...maintenanceHandlers,
};
