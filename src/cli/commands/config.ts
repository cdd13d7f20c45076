/** `whalefall config check`: validate the configuration file and show the effective configuration. */
import type { Command } from 'commander';
import { describeConfig, resolveConfig, type ConfigValue } from '../../config-file.js';
import { cli, table, print } from '../shared.js';

export function register(program: Command): void {
  const configCmd = program.command('config').description('configuration file');
  configCmd
    .command('check')
    .description('check whalefall.yaml and the environment; print the effective configuration (secrets masked)')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => {
      const r = resolveConfig({ configFile: cli.configFile, flags: cli.flags });
      const rows = describeConfig(r);
      if (o.json) return print(JSON.stringify({ file: r.file ?? null, settings: rows }, null, 2));
      print(`configuration ok (${r.file ? `file ${r.file}` : 'no file'}; precedence: flags > environment > file > defaults)`);
      const shown = (v: ConfigValue) => (v === null ? '(unset)' : Array.isArray(v) ? v.join(',') : String(v));
      print(table(rows.map((x) => ({ key: x.key, env: x.env, value: shown(x.value), source: x.source }))));
    });
}
