/**
 * `whalefall import-whalefall <postgres-url> [--dry-run] [--json]`: move the
 * instances and the whole daily history of an original WhaleFall store into
 * this one (src/services/import-whalefall.service.ts says how). A progress bar
 * on stderr, a summary on stdout; exit 1 with one line on a bad URL, an
 * unreachable server or a database that is not an original store. The URL's
 * password is never printed.
 */
import type { Command } from 'commander';
import { CLI_ACTOR } from '../../services/audit.service.js';
import { OriginalWhalefallReader } from '../../store/original-whalefall.reader.js';
import { drawProgress } from '../progress.js';
import { withContext, print } from '../shared.js';

export function register(program: Command): void {
  program
    .command('import-whalefall <postgres-url>')
    .description('import instances and daily history from an original WhaleFall store (PostgreSQL); idempotent')
    .option('--dry-run', 'read everything and report what would be imported; store nothing')
    .option('--json', 'print the summary as JSON')
    .action(async (url: string, o: { dryRun?: boolean; json?: boolean }) =>
      withContext(async (ctx) => {
        const reader = await OriginalWhalefallReader.open(url, ctx.config.connectTimeoutMs);
        let lastPct = -1;
        try {
          const s = await ctx.importWhalefall.run(reader, {
            dryRun: o.dryRun,
            actor: CLI_ACTOR,
            onProgress: (p) => {
              const pct = p.rows_total ? Math.floor((p.rows_done / p.rows_total) * 100) : 100;
              if (pct === lastPct) return;
              lastPct = pct;
              const bar = '#'.repeat(Math.round(pct * 0.3)).padEnd(30, '.');
              const line = `[${bar}] ${pct}% ${p.rows_done}/${p.rows_total} rows (${p.instance})`;
              drawProgress(line.slice(0, 100), pct === 100);
            },
          });
          if (o.json) {
            print(JSON.stringify(s, null, 2));
            return;
          }
          for (const i of s.instances.filter((x) => x.action === 'skipped')) print(`skipped ${i.name}: ${i.reason}`);
          const verb = s.dry_run ? 'would be ' : '';
          print(
            `instances: ${s.instances_created} ${verb}created (no credential: set one to collect), ${s.instances_matched} matched by name, ${s.instances_skipped} skipped; ` +
              `history: ${s.rows_read} rows read, ${s.rows_inserted} ${verb}added (MB precision), ${s.rows_already_present} already present; ` +
              `${s.databases_created} databases ${verb}added to the lifecycle, ${s.totals_days_added} instance-days of totals ${verb}filled`,
          );
          if (s.rows_inserted === 0 && s.instances_created === 0) print('nothing to import: everything is already here');
          else if (s.dry_run) print('dry run: nothing was stored');
        } finally {
          await reader.close();
        }
      }),
    );
}
