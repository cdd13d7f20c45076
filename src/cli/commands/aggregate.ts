/** `whalefall aggregate`: compute the week/month/quarter aggregations now. */
import type { Command } from 'commander';
import { Option } from 'commander';
import { isIsoDate } from '../../lib/clock.js';
import { CliError, withContext, table, print } from '../shared.js';

export function register(program: Command): void {
  program
    .command('aggregate')
    .description('compute period statistics now (default: the periods containing today)')
    .addOption(new Option('--period <period>', 'only this period').choices(['daily', 'weekly', 'monthly', 'quarterly']))
    .option('--date <YYYY-MM-DD>', 'the periods containing this date')
    .option('--from <YYYY-MM-DD>', 'first day of a range (with --to)')
    .option('--to <YYYY-MM-DD>', 'last day of a range, included (with --from)')
    .action(async (o: { period?: 'daily' | 'weekly' | 'monthly' | 'quarterly'; date?: string; from?: string; to?: string }) =>
      withContext(async (ctx) => {
        if (o.date && (o.from || o.to)) throw new CliError('give --date or --from/--to, not both');
        // One end alone is refused: read as "from then until today" it would silently cover one day.
        if (Boolean(o.from) !== Boolean(o.to))
          throw new CliError(`${o.from ? '--from needs --to' : '--to needs --from'} (a range has both ends; one day: --date)`);
        for (const [flag, v] of [
          ['--date', o.date],
          ['--from', o.from],
          ['--to', o.to],
        ] as const) {
          if (v !== undefined && !isIsoDate(v)) throw new CliError(`${flag}: "${v}" is not a valid date (YYYY-MM-DD)`);
        }
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
