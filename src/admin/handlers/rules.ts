// Automatic approval rules (store/approval-rule-repository.ts).
import type { ApprovalRule } from '../../domain/approval-automation.ts';
import type { Handler, HandlerContext } from '../context.ts';
import { ApiProblem } from '../problem.ts';

async function ruleById(ctx: HandlerContext, id: number): Promise<ApprovalRule> {
  const rule = (await ctx.store.approvalRules.list()).find((r) => r.id === id);
  if (rule === undefined) throw new ApiProblem(404, `no automatic approval rule ${id}`);
  return rule;
}

/** The repository's refusals (a bad rule, a name in use) are the caller's to fix. */
async function asProblem<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if ((error as Error).name === 'ApprovalRuleError') throw new ApiProblem(/already exists|built in/.test((error as Error).message) ? 409 : 422, (error as Error).message);
    throw error;
  }
}

export const ruleHandlers: Record<string, Handler> = {
  listRules: async (ctx) => ({ rules: await ctx.store.approvalRules.list() }),

  createRule: async (ctx) => {
    const body = ctx.body as Omit<ApprovalRule, 'id' | 'builtin'>;
    const groups = new Set((await ctx.store.groups.list()).map((g) => g.id));
    const unknown = body.groupIds.map((g, i) => ({ g, i })).filter(({ g }) => !groups.has(g));
    if (unknown.length > 0) throw new ApiProblem(400, `unknown computer group(s): ${unknown.map((u) => u.g).join(', ')}`, { errors: unknown.map((u) => ({ field: `body.groupIds.${u.i}`, message: 'unknown group' })) });
    const rule = await asProblem(() => ctx.store.approvalRules.create(body));
    await ctx.audit('rules.create', rule.name, rule);
    return rule;
  },

  changeRule: async (ctx) => {
    const rule = await ruleById(ctx, ctx.params.ruleId);
    const { enabled } = ctx.body as { enabled: boolean };
    await asProblem(() => ctx.store.approvalRules.setEnabled(rule.id, enabled));
    await ctx.audit('rules.change', rule.name, { id: rule.id, enabled });
    return ruleById(ctx, rule.id);
  },

  runRule: async (ctx) => {
    const rule = await ruleById(ctx, ctx.params.ruleId);
    const result = await asProblem(() => ctx.store.approvalRules.run(rule.id));
    await ctx.audit('rules.run', rule.name, { id: rule.id, ...result });
    return result;
  },

  deleteRule: async (ctx) => {
    const rule = await ruleById(ctx, ctx.params.ruleId);
    if (!(await asProblem(() => ctx.store.approvalRules.delete(rule.id)))) throw new ApiProblem(409, `rule "${rule.name}" cannot be deleted`);
    await ctx.audit('rules.delete', rule.name, { id: rule.id });
  },
};
