/** `whalefall instances import|export`: the fleet file (CSV or YAML). */
import type { Command } from 'commander';
import fs from 'node:fs';
import { Option } from 'commander';
import { CLI_ACTOR } from '../../services/audit.service.js';
import { FLEET_FORMATS, type FleetFormat, type ImportReport } from '../../services/fleet.service.js';
import { CliError, cliLocale, plural, withContext, readStdin, table, print } from '../shared.js';
import { localizeReport } from '../../services/fleet.service.js';

export function register(instances: Command): void {
  instances
    .command('import <file>')
    .description('import instances from a CSV or YAML file (format from the extension, or --format); nothing stored unless the whole file is valid')
    .addOption(new Option('--format <format>', 'file format').choices([...FLEET_FORMATS]))
    .option('--dry-run', 'validate and show the plan, store nothing')
    .option('--partial', 'store the valid rows even if some rows are invalid')
    .option('--disable-missing', 'disable registered instances that are not in the file')
    .option('--confirm-duplicates', 'store new rows for servers already registered under another name (same host:port)')
    .option('--json', 'print the whole report as JSON')
    .action(
      async (
        file: string,
        o: { format?: FleetFormat; dryRun?: boolean; partial?: boolean; disableMissing?: boolean; confirmDuplicates?: boolean; json?: boolean },
      ) =>
        withContext(async (ctx) => {
          const format: FleetFormat | undefined = o.format ?? (/\.ya?ml$/i.test(file) ? 'yaml' : /\.csv$/i.test(file) ? 'csv' : undefined);
          if (!format) throw new CliError(`${file}: cannot tell the format from the name; give --format csv|yaml`);
          const text = file === '-' ? await readStdin() : fs.readFileSync(file, 'utf8');
          const r = localizeReport(
            await ctx.fleet.import(
              text,
              { format, dryRun: o.dryRun, partial: o.partial, disableMissing: o.disableMissing, confirmDuplicates: o.confirmDuplicates },
              CLI_ACTOR,
            ),
            cliLocale(),
          );
          if (o.json) print(JSON.stringify(r, null, 2));
          else {
            if (r.errors.length) {
              print(table(r.errors.map((e) => ({ row: e.row, line: e.line, column: e.column, field: e.field, error: e.message }))));
              print('');
            }
            if (r.file_errors) {
              print(`the file cannot be imported as it is (${plural(r.file_errors, 'error')} in its header or syntax, above)`);
            } else {
              const verb = r.applied ? '' : r.dry_run ? 'would be ' : 'NOT ';
              print(
                `${plural(r.total_rows, 'row')}, ${r.invalid_rows} invalid: ${r.created} ${verb}created, ${r.updated} ${verb}updated, ${r.unchanged} unchanged; ` +
                  `${r.missing.length} registered but not in the file${r.disabled.length ? `, ${r.disabled.length} ${verb}disabled` : ''}`,
              );
            }
            if (r.duplicates.length) {
              print(`already registered (same server): ${r.duplicates.map((d) => `${d.name} (line ${d.line}) = ${d.same_as.join(', ')}`).join('; ')}`);
            }
            if (r.missing.length && !r.disable_missing)
              print(`missing (use --disable-missing to disable them): ${r.missing.slice(0, 20).join(', ')}${r.missing.length > 20 ? ', …' : ''}`);
          }
          const refusal = refused(r);
          // A dry run answers what the real import would do: exit 1 when it would be refused.
          if (refusal) throw new CliError(r.dry_run ? `dry run: the import would be refused: ${refusal}` : refusal);
        }),
    );
  instances
    .command('export')
    .description('export the registry as CSV or YAML (credentials by name, no secrets)')
    .addOption(new Option('--format <format>', 'file format').choices([...FLEET_FORMATS]).default('csv'))
    .option('--tag <tag>', 'only instances with this tag')
    .option('--output <file>', 'write to this file instead of standard output')
    .action(async (o: { format: FleetFormat; tag?: string; output?: string }) =>
      withContext(async (ctx) => {
        const text = await ctx.fleet.export(o.format, { tag: o.tag });
        if (o.output) fs.writeFileSync(o.output, text);
        else process.stdout.write(text);
      }),
    );
}

/** Why the import is (or, in a dry run, would be) refused, in the order the API answers: the file, the rows, the duplicates. */
function refused(r: ImportReport): string | null {
  if (r.file_errors)
    return `${plural(r.file_errors, 'error')} in the file's header or syntax: nothing imported (fix the file; --partial only skips invalid rows)`;
  if (r.invalid_rows && !r.partial) return `${plural(r.invalid_rows, 'invalid row')}: nothing imported (fix them, or use --partial to store the valid rows)`;
  if (r.needs_confirmation)
    return `${plural(r.duplicates.length, 'row')} for servers already registered: nothing imported (check them, or use --confirm-duplicates)`;
  return null;
}
