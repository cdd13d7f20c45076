/** `whalefall users add|passwd|list`. */
import type { Command } from 'commander';
import { Option } from 'commander';
import { CLI_ACTOR } from '../../services/audit.service.js';
import { ROLES, type Role } from '../../services/auth.service.js';
import { generatePassword } from '../../lib/crypto.js';
import { withContext, readSecret, table, print } from '../shared.js';

export function register(program: Command): void {
  const users = program.command('users').description('manage users');
  users
    .command('add <username>')
    .description('create a user (password generated and printed once unless given)')
    .addOption(new Option('--role <role>').choices([...ROLES]).default('viewer'))
    .option('--password-stdin', 'read the password from standard input')
    .option('--password-env <VAR>', 'read the password from this environment variable')
    .action(async (username: string, o: { role: Role; passwordStdin?: boolean; passwordEnv?: string }) =>
      withContext(async (ctx) => {
        const given = await readSecret(o, `the password of ${username}`);
        const password = given ?? generatePassword();
        const u = await ctx.auth.createUser({ username, password, role: o.role }, CLI_ACTOR);
        print(`created user ${u.username} (${u.role})${given ? '' : `, password: ${password}`}`);
      }),
    );
  users
    .command('passwd <username>')
    .description('set a new password (generated and printed once unless given)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--password-env <VAR>', 'read the password from this environment variable')
    .action(async (username: string, o: { passwordStdin?: boolean; passwordEnv?: string }) =>
      withContext(async (ctx) => {
        const u = await ctx.auth.userByName(username);
        const given = await readSecret(o, `the password of ${username}`);
        const password = given ?? generatePassword();
        await ctx.auth.updateUser(u.id, { password }, CLI_ACTOR);
        print(`password of ${u.username} changed${given ? '' : `: ${password}`}`);
      }),
    );
  users
    .command('list')
    .description('list users')
    .action(async () =>
      withContext(async (ctx) =>
        print(table((await ctx.auth.listUsers()).map((u) => ({ id: u.id, username: u.username, role: u.role, active: u.is_active ? 'yes' : 'no' })))),
      ),
    );
}
