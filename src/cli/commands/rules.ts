// `openwsus rules`: automatic approval rules (WSUS "Options > Automatic Approvals") until the
// administration API takes them over. Rules act on updates new to the server when a
// synchronization brings them; `rules run` applies one to the updates held now.
import type { Command } from 'commander';
import { APPROVAL_AUTOMATION_SETTING_KEYS as K, type ApprovalRule, type AutomationOptions } from '../../domain/approval-automation.ts';
import type { CategoryNode } from '../../domain/catalog-records.ts';
import type { ComputerGroup } from '../../domain/deployment.ts';
import type { Store } from '../../store/index.ts';
import { CliError, commandContext, integerFlag, printJson } from '../context.ts';
import { refuseIfReplica } from '../replica.ts';
import { withStore } from '../store.ts';
import { findGroup } from './groups.ts';

const GUID = /^\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}?$/i;

/** The rule an administrator names by name (any case) or number. */
export function findRule(rules: readonly ApprovalRule[], text: string): ApprovalRule {
  const wanted = text.trim();
  if (/^\d+$/.test(wanted)) {
    const byId = rules.find((r) => r.id === Number(wanted));
    if (byId !== undefined) return byId;
  }
  const byName = rules.find((r) => r.name.toLowerCase() === wanted.toLowerCase());
  if (byName !== undefined) return byName;
  throw new CliError(`unknown rule "${text}"; rules: ${rules.map((r) => `${r.id} "${r.name}"`).join(', ') || 'none'} (see openwsus rules list)`);
}

/**
 * A classification or product named by title (any case) or id. An id not held yet is taken as
 * is (the rule matches once a synchronization brings it); a title must be known.
 */
export function resolveCategory(categories: readonly CategoryNode[], kind: 'classification' | 'product', text: string, fallbackTitles: Readonly<Record<string, string>> = {}): string {
  const id = GUID.exec(text.trim())?.[1]?.toLowerCase();
  if (id !== undefined) return id;
  const wanted = text.trim().toLowerCase();
  const types = kind === 'classification' ? ['UpdateClassification'] : ['Product', 'ProductFamily', 'Company'];
  const matches = categories.filter((c) => types.includes(c.categoryType ?? '') && c.title.toLowerCase() === wanted);
  if (matches.length === 1) return matches[0]!.updateId.toLowerCase();
  if (matches.length > 1) throw new CliError(`more than one ${kind} is titled "${text}": give its id instead (${matches.map((c) => c.updateId).join(', ')})`);
  const fallback = Object.entries(fallbackTitles).find(([, title]) => title.toLowerCase() === wanted)?.[0];
  if (fallback !== undefined) return fallback;
  const known = [...new Set(categories.filter((c) => types.includes(c.categoryType ?? '')).map((c) => c.title))].sort();
  throw new CliError(
    `unknown ${kind} "${text}"; ${known.length > 0 ? `known: ${known.slice(0, 30).join(', ')}${known.length > 30 ? ', …' : ''}` : 'the catalog has none yet (synchronize first, or give its id)'}`,
  );
}

function parseDeadlineFlags(days: string | undefined, time: string | undefined): ApprovalRule['deadline'] {
  if (days === undefined && time === undefined) return undefined;
  if (days === undefined) throw new CliError('--deadline-time needs --deadline-days (days after the approval)', 2);
  const n = integerFlag('--deadline-days', days, 0);
  if (n > 365) throw new CliError('--deadline-days must be at most 365', 2);
  const at = (time ?? '03:00').trim();
  if (!/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(at)) throw new CliError(`--deadline-time must be HH:MM (00:00-23:59, UTC), got "${time}"`, 2);
  return { days: n, time: at };
}

interface RuleView {
  readonly id: number;
  readonly name: string;
  readonly enabled: boolean;
  readonly builtin: boolean;
  readonly action: string;
  readonly classifications: readonly string[];
  readonly products: readonly string[];
  readonly groups: readonly string[];
  readonly deadline: { days: number; time: string } | null;
}

function view(rule: ApprovalRule, titleOf: ReadonlyMap<string, string>, groups: readonly ComputerGroup[]): RuleView {
  const groupName = new Map(groups.map((g) => [g.id, g.name]));
  return {
    id: rule.id,
    name: rule.name,
    enabled: rule.enabled,
    builtin: rule.builtin,
    action: rule.action,
    classifications: rule.classificationIds.map((c) => titleOf.get(c) ?? c),
    products: rule.productIds.map((p) => titleOf.get(p) ?? p),
    groups: rule.groupIds.map((g) => groupName.get(g) ?? g),
    deadline: rule.deadline ?? null,
  };
}

async function titles(store: Store): Promise<{ categories: CategoryNode[]; titleOf: Map<string, string> }> {
  const { CLASSIFICATION_TITLES } = await import('../../domain/wellknown.ts');
  const categories = await store.catalog.categories();
  const titleOf = new Map<string, string>(Object.entries(CLASSIFICATION_TITLES));
  for (const c of categories) titleOf.set(c.updateId.toLowerCase(), c.title);
  return { categories, titleOf };
}

function describe(r: RuleView): string {
  const when = [
    r.classifications.length > 0 ? `classification ${r.classifications.join(' or ')}` : '',
    r.products.length > 0 ? `product ${r.products.join(' or ')}` : '',
  ].filter(Boolean);
  const deadline = r.deadline === null ? '' : `, deadline ${r.deadline.days} day(s) after approval at ${r.deadline.time} UTC`;
  return `${r.id}  ${r.name}${r.builtin ? ' (built in)' : ''}  [${r.enabled ? 'enabled' : 'disabled'}]\n    when ${when.join(' and ')}: approve for ${r.action.toLowerCase()} in ${r.groups.join(', ') || '(no group)'}${deadline}\n`;
}

function optionsText(o: AutomationOptions): string {
  return (
    `new revisions of approved updates are ${o.approveNewRevisions ? '' : 'not '}approved automatically (${K.approveNewRevisions})\n` +
    `updates a new revision expires are ${o.declineExpired ? '' : 'not '}declined automatically (${K.declineExpired})\n` +
    'change them with openwsus config set KEY true|false\n'
  );
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Runs `fn` on the rule named, turning the repository's refusals into messages. */
async function withRuleError<T>(fn: () => Promise<T>): Promise<T> {
  const { ApprovalRuleError } = await import('../../store/approval-rule-repository.ts');
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ApprovalRuleError) throw new CliError(error.message);
    throw error;
  }
}

/** Finds the rule TEXT names and changes it, unless this server is a replica; the rule as it was. */
async function changeRule(command: Command, text: string, change: (store: Store, rule: ApprovalRule) => Promise<unknown>): Promise<ApprovalRule> {
  return withStore(commandContext(command), async (store) => {
    await refuseIfReplica(store, 'change automatic approval rules');
    const rule = findRule(await store.approvalRules.list(), text);
    await change(store, rule);
    return rule;
  });
}

export function registerRules(program: Command): void {
  const rules = program.command('rules').description('automatic approval rules: approve new updates of chosen classifications and products for groups');

  rules
    .command('list')
    .description('the rules, in order, and the two server-wide options')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const context = commandContext(command);
      const { list, opts } = await withStore(context, async (store) => {
        const [all, groups, { titleOf }, opts] = await Promise.all([store.approvalRules.list(), store.groups.list(), titles(store), store.approvalRules.options()]);
        return { list: all.map((r) => view(r, titleOf, groups)), opts };
      });
      if (options.json) {
        printJson({ rules: list, options: opts });
        return;
      }
      for (const r of list) process.stdout.write(describe(r));
      if (list.length === 0) process.stdout.write('no rules (openwsus rules create makes one)\n');
      process.stdout.write(optionsText(opts));
    });

  rules
    .command('create')
    .description('create a rule (enabled unless --disabled); it acts on updates synchronized from now on')
    .argument('<name>', 'the rule name, unique')
    .option('--classification <name>', 'classification title or id, e.g. "Security Updates" (repeat for more)', collect)
    .option('--product <name>', 'product, product family or company title or id; a parent takes its children (repeat for more)', collect)
    .option('--group <name>', 'computer group to approve for (repeat for more)', collect)
    .option('--action <action>', 'what to approve for: install (the only action of automatic rules)', 'install')
    .option('--deadline-days <n>', 'set a deadline this many days after the approval (0-365)')
    .option('--deadline-time <HH:MM>', 'time of day of the deadline, UTC (default 03:00)')
    .option('--disabled', 'create it disabled')
    .option('--json', 'print the new rule as JSON')
    .action(
      async (
        name: string,
        options: { classification?: string[]; product?: string[]; group?: string[]; action: string; deadlineDays?: string; deadlineTime?: string; disabled?: boolean; json?: boolean },
        command: Command,
      ) => {
        const context = commandContext(command);
        if (options.action.trim().toLowerCase() !== 'install') throw new CliError(`--action must be install (automatic rules approve for install only), got "${options.action}"`, 2);
        const trimmed = name.trim();
        if (trimmed === '' || trimmed.length > 256) throw new CliError('a rule name must be 1 to 256 characters', 2);
        if ((options.classification ?? []).length === 0 && (options.product ?? []).length === 0) {
          throw new CliError('a rule needs --classification, --product or both (e.g. --classification "Security Updates")', 2);
        }
        if ((options.group ?? []).length === 0) throw new CliError('a rule needs at least one --group (e.g. --group "All Computers")', 2);
        const deadline = parseDeadlineFlags(options.deadlineDays, options.deadlineTime);
        const { CLASSIFICATION_TITLES } = await import('../../domain/wellknown.ts');
        const created = await withStore(context, async (store) => {
          await refuseIfReplica(store, 'change automatic approval rules');
          const [groups, { categories, titleOf }] = await Promise.all([store.groups.list(), titles(store)]);
          const rule = await withRuleError(() =>
            store.approvalRules.create({
              name: trimmed,
              enabled: !options.disabled,
              classificationIds: [...new Set((options.classification ?? []).map((c) => resolveCategory(categories, 'classification', c, CLASSIFICATION_TITLES)))],
              productIds: [...new Set((options.product ?? []).map((p) => resolveCategory(categories, 'product', p)))],
              groupIds: [...new Set((options.group ?? []).map((g) => findGroup(groups, g).id))],
              action: 'Install',
              ...(deadline !== undefined ? { deadline } : {}),
            }),
          );
          return view(rule, titleOf, groups);
        });
        if (options.json) printJson(created);
        else process.stdout.write(`created rule ${created.id} "${created.name}" (${created.enabled ? 'enabled' : 'disabled'})\n`);
      },
    );

  for (const [verb, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    rules
      .command(verb)
      .description(`${verb} a rule`)
      .argument('<rule>', 'rule name or number')
      .action(async (text: string, _options: unknown, command: Command) => {
        const rule = await changeRule(command, text, (store, rule) => store.approvalRules.setEnabled(rule.id, enabled));
        process.stdout.write(`${rule.enabled === enabled ? `rule "${rule.name}" was already ${verb}d` : `${verb}d rule "${rule.name}"`}\n`);
      });
  }

  rules
    .command('delete')
    .description('delete a rule (approvals it made stay)')
    .argument('<rule>', 'rule name or number')
    .action(async (text: string, _options: unknown, command: Command) => {
      const rule = await changeRule(command, text, (store, rule) => withRuleError(() => store.approvalRules.delete(rule.id)));
      process.stdout.write(`deleted rule "${rule.name}"\n`);
    });

  rules
    .command('run')
    .description('apply a rule now to the updates held (WSUS "Run Rule"); groups with an approval of an update keep it')
    .argument('<rule>', 'rule name or number')
    .option('--json', 'print as JSON')
    .action(async (text: string, options: { json?: boolean }, command: Command) => {
      const context = commandContext(command);
      const { rule, result } = await withStore(context, async (store) => {
        await refuseIfReplica(store, 'run automatic approval rules');
        const rule = findRule(await store.approvalRules.list(), text);
        return { rule, result: await withRuleError(() => store.approvalRules.run(rule.id)) };
      });
      if (options.json) printJson({ rule: rule.name, approved: result.approved });
      else process.stdout.write(`rule "${rule.name}" approved ${result.approved} update(s) for its group(s)\n`);
    });
}
