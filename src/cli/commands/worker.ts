/** `whalefall worker`: run queued sync records (pg-boss scale-out). */
import type { Command } from 'commander';
import { cli, loadConfig } from '../shared.js';

export function register(program: Command): void {
  program
    .command('worker')
    .description('run capacity sync jobs from the pg-boss queue (WHALEFALL_QUEUE=pg-boss, PostgreSQL store)')
    .action(async () => {
      const { worker } = await import('../../server.js');
      await worker(loadConfig(), { pretty: cli.pretty });
    });
}
