/** `whalefall cancel <session-id>`: cancel a running sync session. */
import type { Command } from 'commander';
import { CLI_ACTOR } from '../../services/audit.service.js';
import { withContext, print } from '../shared.js';

export function register(program: Command): void {
  program
    .command('cancel <session-id>')
    .description('cancel a running sync session (instances not started are skipped, running ones aborted)')
    .action(async (sessionId: string) =>
      withContext(async (ctx) => {
        const r = await ctx.capacitySync.cancel(sessionId, CLI_ACTOR);
        print(
          `session ${r.session_id}: cancel requested (${r.skipped} not started → skipped, ${r.running} running → aborting)${r.status !== 'running' ? `; now ${r.status}` : ''}`,
        );
      }),
    );
}
