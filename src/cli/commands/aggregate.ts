/** `whalefall aggregate`: compute the week/month/quarter aggregations now. */
import type { Command } from 'commander';
import { Option } from 'commander';
import { CliError, withContext, table, print } from '../shared.js';

export function register(program: Command): void {
  program
    .command('aggregate')
    .description('compute period statistics now (default: the periods containing today)')
    .addOption(new Option('--period <period>', 'only this period').choices(['daily', 'weekly', 'monthly', 'quarterly']))
    .option('--date <YYYY-MM-DD>', 'the periods containing this date')
    .option('--from <YYYY-MM-DD>', 'start of a range')
    .option('--to <YYYY-MM-DD>', 'end of a range')
    .action(async (o: { period?: 'daily' | 'weekly' | 'monthly' | 'quarterly'; date?: string; from?: string; to?: string }) =>
      withContext(async (ctx) => {
        if (o.date && (o.from || o.to)) throw new CliError('give --date or --from/--to, not both');
        const r = await ctx.aggregation.aggregate({ period: o.period, from: o.date ?? o.from, to: o.date ?? o.to });
        print(
          table(
            r.periods.map((p) => ({
              period: p.period,
              from: p.period_start,
              to: p.period_end,
              periods: p.periods,
              instance_rows: p.instance_rows,
              database_rows: p.database_rows,
            })),
          ),
        );
      }),
    );
}
