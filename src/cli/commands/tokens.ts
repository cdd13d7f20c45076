/** `whalefall tokens create`: API tokens for scripts. */
import type { Command } from 'commander';
import { CLI_ACTOR } from '../../services/audit.service.js';
import { withContext, print } from '../shared.js';

export function register(program: Command): void {
  const tokens = program.command('tokens').description('API tokens for scripts');
  tokens
    .command('create')
    .description('create a bearer token (printed once)')
    .requiredOption('--user <username>', 'owner')
    .requiredOption('--name <name>', 'what the token is for')
    .option('--expires-in-days <n>', 'expiry')
    .action(async (o: { user: string; name: string; expiresInDays?: string }) =>
      withContext(async (ctx) => {
        const u = await ctx.auth.userByName(o.user);
        const t = await ctx.auth.createToken(u.id, { name: o.name, expires_in_days: o.expiresInDays }, CLI_ACTOR);
        print(t.token);
      }),
    );
}
