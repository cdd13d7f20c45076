/** `whalefall instances test-connection`: reach and log in to many instances at once. */
import type { Command } from 'commander';
import { CliError, cliText, withContext, table, print } from '../shared.js';

export function register(instances: Command): void {
  instances
    .command('test-connection [names...]')
    .description('test the connection of many instances (names, --tag, or --all active ones) with bounded concurrency')
    .option('--tag <tag>', 'every instance with this tag')
    .option('--all', 'every active instance')
    .option('--concurrency <n>', 'connections at once', '8')
    .option('--doctor', 'also check the grants the collector needs')
    .option('--json', 'machine-readable output')
    .action(async (names: string[], o: { tag?: string; all?: boolean; concurrency: string; doctor?: boolean; json?: boolean }) =>
      withContext(async (ctx) => {
        if (o.all && (names.length || o.tag !== undefined)) throw new CliError('give instance names and/or --tag, or --all, not both');
        if (!o.all && !names.length && o.tag === undefined) throw new CliError('give instance names, --tag TAG or --all');
        const rows = await ctx.fleet.testConnections({ names, tag: o.tag, all: o.all }, { concurrency: o.concurrency, doctor: o.doctor });
        // `error` in the CLI's language; `error_msg` keeps its key.
        if (o.json)
          print(
            JSON.stringify(
              rows.map((r) => ({ ...r, error: r.error_msg ? cliText(r.error_msg) : r.error })),
              null,
              2,
            ),
          );
        else {
          const yn = (b: boolean | null) => (b === null ? null : b ? 'yes' : 'no');
          print(
            table(
              rows.map((r) => ({
                instance: r.name,
                address: r.address,
                reachable: yn(r.reachable),
                auth: yn(r.auth_ok),
                version: r.server_version,
                ms: r.latency_ms,
                ...(o.doctor ? { grants: r.doctor ? (r.doctor.ok ? 'ok' : `missing ${r.doctor.missing.join(', ')}`) : null } : {}),
                error: r.error ? `[${r.error_code}] ${r.error_msg ? cliText(r.error_msg) : r.error}` : null,
              })),
            ),
          );
          const good = rows.filter((r) => r.reachable && r.auth_ok).length;
          print(`\n${good}/${rows.length} connected`);
        }
        if (rows.some((r) => !(r.reachable && r.auth_ok))) process.exitCode = 1;
      }),
    );
}
