/** `whalefall processes`: the live serve and worker processes of the estate (their heartbeats). */
import type { Command } from 'commander';
import { table, withContext, print } from '../shared.js';

export function register(program: Command): void {
  program
    .command('processes')
    .description(
      'the serve and worker processes of the estate whose heartbeat is current (host, pid, version, started, last seen, running jobs, whether it works queued jobs)',
    )
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) =>
      withContext(async (ctx) => {
        const live = await ctx.processes.live();
        if (o.json)
          return print(
            JSON.stringify(
              live.map((p) => ({ ...p, works: Boolean(p.works) })),
              null,
              2,
            ),
          );
        print(
          table(
            live.map((p) => ({
              role: p.role,
              host: p.host,
              pid: p.pid,
              version: p.version,
              started: p.started_at,
              last_seen: p.last_seen_at,
              running_jobs: p.running_jobs,
              works: p.works ? 'yes' : 'no',
            })),
          ),
        );
      }),
    );
}
