/** `whalefall sync`: capacity (or with --tables, table-size) sync of some or all instances; exit 1 when any failed. */
import type { Command } from 'commander';
import { type Context } from '../../context.js';
import { formatBytes } from '../../lib/sizes.js';
import { CLI_ACTOR } from '../../services/audit.service.js';
import type { RecordOutcome } from '../../services/capacity-sync.service.js';
import { drawProgress } from '../progress.js';
import { CliError, cliError, cliText, withContext, table, print, printErr, cliLocale } from '../shared.js';
import { localizeTableSync } from '../../services/tables.service.js';
import { t } from '../../client/shared/i18n/index.js';

/** `sync --tables`: one instance after the other, each within its table budget; exit 1 when any failed. */
async function syncTables(ctx: Context, o: { all?: boolean; instance?: string[]; database?: string[] }): Promise<void> {
  if (o.database && (o.all || o.instance?.length !== 1)) throw new CliError('--database needs exactly one --instance');
  const instances = o.all ? (await ctx.instances.list({ active: true })).map((i) => i.name) : o.instance!;
  const rows: Record<string, string | number | null>[] = [];
  let failed = 0;
  for (const name of instances) {
    const inst = await ctx.instances.getByName(name);
    try {
      const r = localizeTableSync(
        await ctx.tables.syncTables(inst.id, { databases: o.database ?? null, actor: CLI_ACTOR, syncType: 'manual_batch' }),
        cliLocale(),
      );
      rows.push({
        instance: r.instance_name,
        status: 'completed',
        databases: r.databases.length,
        tables: r.saved_count,
        'new/del/rest': `${r.created_count}/${r.deleted_count}/${r.restored_count}`,
        ms: r.duration_ms,
        cut: r.cut.length ? r.cut.join('; ') : null,
        error: null,
      });
      for (const w of r.warnings) printErr(`${r.instance_name}: ${w}`);
    } catch (err) {
      failed++;
      rows.push({ instance: name, status: 'failed', databases: null, tables: null, 'new/del/rest': null, ms: null, cut: null, error: cliError(err) });
    }
  }
  print(table(rows));
  if (failed > 0) process.exitCode = 1;
}

function outcomeRow(o: RecordOutcome) {
  return {
    instance: o.instance_name,
    status: o.status,
    databases: o.counts?.saved ?? null,
    total: o.counts ? formatBytes(o.counts.total_size_bytes) : null,
    'new/upd/del/rest': o.counts ? `${o.counts.created}/${o.counts.updated}/${o.counts.deleted}/${o.counts.restored}` : null,
    ms: o.duration_ms,
    error: o.error_message ? `[${o.error_code ?? 'skipped'}] ${o.error_msg ? cliText(o.error_msg) : o.error_message}` : null,
  };
}

export function register(program: Command): void {
  program
    .command('sync')
    .description('collect capacity now')
    .option('--instance <name...>', 'instance name(s)')
    .option('--all', 'every active instance')
    .option('--tables', "collect table-level sizes instead (within each instance's table budget)")
    .option('--database <name...>', 'with --tables and one --instance: only these databases')
    .action(async (o: { instance?: string[]; all?: boolean; tables?: boolean; database?: string[] }) =>
      withContext(async (ctx) => {
        if (!o.all && !o.instance) throw new CliError('give --instance NAME or --all');
        if (o.all && o.instance) throw new CliError('give --instance NAME or --all, not both');
        if (o.database && !o.tables) throw new CliError('--database goes with --tables');
        if (o.tables) return syncTables(ctx, o);
        await ctx.recovery.recover(); // a session left running by a crashed run becomes `interrupted` first
        // An instance named explicitly but disabled is not synced: said so, and the exit code is 1 (issue #20).
        const named = o.all ? [] : await Promise.all((o.instance as string[]).map((n) => ctx.instances.getByName(n)));
        const disabled = named.filter((i) => !i.is_active);
        for (const i of disabled) printErr(`${i.name}: ${t(cliLocale(), 'cli.skipped_disabled')}`);
        if (disabled.length) process.exitCode = 1;
        if (!o.all && disabled.length === named.length) return;
        const ids = o.all ? ('all-active' as const) : named.filter((i) => i.is_active).map((i) => i.id);
        const r = await ctx.capacitySync.syncMany(ids, {
          syncType: 'manual_batch',
          actor: CLI_ACTOR,
          onRecord: (rec, done, total) => {
            const bar = '#'.repeat(Math.round((done / total) * 30)).padEnd(30, '.');
            const line = `[${bar}] ${done}/${total} ${rec.instance_name}: ${rec.status}`;
            drawProgress(line.slice(0, 100), done === total);
          },
        });
        print(table(r.outcomes.map(outcomeRow)));
        const n = (st: string) => r.outcomes.filter((x) => x.status === st).length;
        const [completed, failed, skipped] = [n('completed'), n('failed'), r.outcomes.length - n('completed') - n('failed')];
        print(`session ${r.session_id}: ${r.status} (${completed} ok, ${failed} failed${skipped ? `, ${skipped} skipped` : ''})`);
        if (failed > 0 || (skipped > 0 && !o.all)) process.exitCode = 1;
      }),
    );
}
