/**
 * The `whalefall` command. Exit codes: 0 success; 1 failure, with a one-line
 * reason on stderr (`whalefall: …`; a usage error adds where its help is);
 * sync exits 1 when any instance failed.
 * Each command lives in `commands/<name>.ts` and registers itself here, in
 * the order `--help` lists them; what they share is in `shared.ts`.
 */
import fs from 'node:fs';
import { Command } from 'commander';
import { ConfigError } from '../config.js';
import { SecretKeyError } from '../lib/crypto.js';
import { AppError, errorMessage } from '../lib/errors.js';
import { BackupError } from '../store/backup.js';
import { VERSION } from '../services/processes.service.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerWorker } from './commands/worker.js';
import { register as registerMigrate } from './commands/migrate.js';
import { register as registerInstances } from './commands/instances.js';
import { register as registerInstancesImport } from './commands/instances-import.js';
import { register as registerInstancesTestConnection } from './commands/instances-test-connection.js';
import { register as registerInstancesDiscover } from './commands/instances-discover.js';
import { register as registerSync } from './commands/sync.js';
import { register as registerDoctor } from './commands/doctor.js';
import { register as registerAggregate } from './commands/aggregate.js';
import { register as registerCancel } from './commands/cancel.js';
import { register as registerConfig } from './commands/config.js';
import { register as registerUsers } from './commands/users.js';
import { register as registerTokens } from './commands/tokens.js';
import { register as registerKeys } from './commands/keys.js';
import { register as registerBackup } from './commands/backup.js';
import { register as registerImportWhalefall } from './commands/import-whalefall.js';
import { register as registerProcesses } from './commands/processes.js';
import { register as registerEstate } from './commands/estate.js';
import { cli, CliError, cliError, printErr } from './shared.js';

export function buildCli(): Command {
  const program = new Command('whalefall')
    .description('Whalefall (鲸落): database capacity service')
    .version(VERSION, '-V, --version', 'the installed version')
    // A usage error is one line, as every other refusal: `whalefall: <reason>` (and where the help is, below).
    .configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: (s, write) => write(`whalefall: ${s.replace(/^error: /, '')}`) })
    .option('--config <file>', 'configuration file (whalefall.yaml; default: $WHALEFALL_CONFIG)')
    .option('--pretty', 'human-readable logs instead of JSON lines')
    .hook('preAction', (_program, action) => {
      const o = program.opts();
      cli.configFile = o.config as string | undefined;
      cli.pretty = Boolean(o.pretty);
      // Only serve's own flags are configuration (instances add has a --host/--port of its own).
      const a = action.name() === 'serve' ? action.opts() : {};
      cli.flags = {
        HOST: a.host as string | undefined,
        PORT: a.port as string | undefined,
        WHALEFALL_DATA_DIR: a.dataDir as string | undefined,
        WHALEFALL_WORK: a.work === false ? 'off' : undefined,
      };
    });

  registerServe(program);
  registerWorker(program);
  registerMigrate(program);
  const instances = program.command('instances').description('manage monitored instances');
  registerInstances(instances);
  registerInstancesImport(instances);
  registerInstancesTestConnection(instances);
  registerInstancesDiscover(instances);
  registerImportWhalefall(program);
  registerSync(program);
  registerDoctor(program);
  registerAggregate(program);
  registerCancel(program);
  registerConfig(program);
  registerUsers(program);
  registerTokens(program);
  registerKeys(program);
  registerBackup(program);
  registerProcesses(program);
  registerEstate(program);
  pointToHelp(program, 'whalefall');
  return program;
}

/** After a usage error, `(see whalefall instances add --help)` instead of the whole help (20–30 lines). */
function pointToHelp(cmd: Command, path: string): void {
  cmd.showHelpAfterError(`(see ${path} --help)`);
  for (const sub of cmd.commands) pointToHelp(sub, `${path} ${sub.name()}`);
}

async function main(): Promise<void> {
  try {
    await buildCli().parseAsync(process.argv);
  } catch (err) {
    const msg =
      err instanceof AppError || err instanceof CliError || err instanceof SecretKeyError || err instanceof BackupError || err instanceof ConfigError
        ? cliError(err)
        : errorMessage(err);
    // A configuration has one line per mistake: show them all.
    const lines = err instanceof ConfigError ? msg.split('\n') : [msg.split('\n')[0]];
    for (const line of lines) printErr(`whalefall: ${line}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && fs.realpathSync(process.argv[1]).match(/(whalefall\.mjs|cli[/\\]main\.[jt]s)$/)) await main();
