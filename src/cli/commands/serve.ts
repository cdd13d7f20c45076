/** `whalefall serve`: the HTTP service and the scheduler in this process. */
import type { Command } from 'commander';
import { cli, loadConfig } from '../shared.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the HTTP service (and the scheduler)')
    .option('--host <host>', 'listen address (HOST)')
    .option('--port <port>', 'listen port (PORT)')
    .option('--data-dir <dir>', 'data directory (WHALEFALL_DATA_DIR)')
    .option('--no-work', 'queue mode: do not run sync jobs in this process, an API and scheduler replica (WHALEFALL_WORK=off)')
    .action(async () => {
      const { serve } = await import('../../server.js');
      await serve(loadConfig(), { pretty: cli.pretty });
    });
}
