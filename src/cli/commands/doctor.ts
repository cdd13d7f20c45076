/** `whalefall doctor`: which grants the collector relies on are present on each instance. */
import type { Command } from 'commander';
import { localizeCheck } from '../../engines/common.js';
import { CliError, cliError, cliLocale, withContext, print } from '../shared.js';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check the grants each instance needs (all active instances, or one)')
    .option('--instance <name>', 'only this instance')
    .option('--json', 'machine-readable output')
    .action(async (o: { instance?: string; json?: boolean }) =>
      withContext(async (ctx) => {
        const list = o.instance ? [await ctx.instances.getByName(o.instance)] : await ctx.instances.list({ active: true });
        if (list.length === 0) throw new CliError('no active instances to check');
        let problems = 0;
        const reports = [];
        for (const inst of list) {
          try {
            const r = await ctx.connections.probe(inst.id, { grants: true });
            reports.push({ ...r, checks: r.checks.map((c) => localizeCheck(c, cliLocale())) });
            if (!r.ok) problems++;
          } catch (err) {
            problems++;
            reports.push({ instance_name: inst.name, db_type: inst.db_type, ok: false, error: cliError(err), checks: [] });
          }
        }
        if (o.json) {
          print(JSON.stringify(reports, null, 2));
        } else {
          for (const r of reports) {
            print(`${r.ok ? 'OK  ' : 'FAIL'} ${r.instance_name} (${r.db_type}${'server_version' in r ? ` ${r.server_version}` : ''})`);
            if ('error' in r) print(`     ${r.error}`);
            for (const c of r.checks) {
              print(`  ${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`);
              if (c.undercounts) print(`      under-counted: ${c.undercounts}`);
              for (const f of c.fix ?? []) print(`      fix: ${f}`);
            }
          }
        }
        if (problems > 0) process.exitCode = 1;
      }),
    );
}
