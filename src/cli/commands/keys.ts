/** `whalefall keys list|rotate|remove`: encryption keys of the stored credentials. */
import type { Command } from 'commander';
import { CLI_ACTOR } from '../../services/audit.service.js';
import { removeKey } from '../../lib/crypto.js';
import { rotateKeys } from '../../services/key-rotation.js';
import { CliError, withContext, table, print } from '../shared.js';

export function register(program: Command): void {
  const keys = program.command('keys').description('encryption keys of the stored credentials');
  keys
    .command('list')
    .description('key ids, the current one first, and how many credentials each encrypts')
    .action(async () =>
      withContext(async (ctx) => print(table((await ctx.credentials.keyUsage()).map((k) => ({ key_id: k.key_id, current: k.current ? 'yes' : '', credentials: k.credentials }))))),
    );
  keys
    .command('rotate')
    .description('add a new key to secret.key and re-encrypt every secret with it: credentials, TLS material, webhook URLs and robot signing secrets (older keys still decrypt until removed)')
    .action(async () =>
      withContext(async (ctx) => {
        const r = await rotateKeys({ ...ctx, dataDir: ctx.config.dataDir, keyFromEnv: ctx.config.secretKey !== undefined }, CLI_ACTOR);
        print(`new key ${r.key_id}; ${r.credentials} credential(s), ${r.tls} instance TLS material(s) and ${r.webhooks} webhook row(s) re-encrypted. Old keys stay in secret.key until "whalefall keys remove ID".`);
      }),
    );
  keys
    .command('remove <key_id>')
    .description('remove an old key from secret.key (refused while a credential still needs it)')
    .action(async (id: string) =>
      withContext(async (ctx) => {
        const used = (await ctx.credentials.keyUsage()).find((k) => k.key_id === id)?.credentials ?? 0;
        if (used > 0) throw new CliError(`key ${id} still encrypts ${used} credential(s): run "whalefall keys rotate" first`);
        removeKey(ctx.config.dataDir, ctx.keys, id);
        print(`key ${id} removed`);
      }),
    );

}
