/** `whalefall keys list|rotate|remove`: encryption keys of the stored credentials. */
import type { Command } from 'commander';
import { CLI_ACTOR } from '../../services/audit.service.js';
import { keyUsage, removeUnusedKey, rotateKeys } from '../../services/key-rotation.js';
import { HOST } from '../../lib/process-tag.js';
import { withContext, table, print, printErr } from '../shared.js';

export function register(program: Command): void {
  const keys = program.command('keys').description('encryption keys of the stored credentials');
  keys
    .command('list')
    .description('key ids, the current one first, and how many credentials, instance TLS materials and webhook secrets each encrypts')
    .action(async () =>
      withContext(async (ctx) =>
        print(
          table(
            (await keyUsage(ctx)).map((k) => ({
              key_id: k.key_id,
              current: k.current ? 'yes' : '',
              credentials: k.credentials,
              tls: k.tls,
              webhooks: k.webhooks,
            })),
          ),
        ),
      ),
    );
  keys
    .command('rotate')
    .description(
      'add a new key to secret.key and re-encrypt every secret with it: credentials, TLS material, webhook URLs and robot signing secrets (older keys still decrypt until removed)',
    )
    .action(async () =>
      withContext(async (ctx) => {
        const r = await rotateKeys({ ...ctx, dataDir: ctx.config.dataDir, keyFromEnv: ctx.config.secretKey !== undefined }, CLI_ACTOR);
        print(
          `new key ${r.key_id}; ${r.credentials} credential(s), ${r.tls} instance TLS material(s) and ${r.webhooks} webhook row(s) re-encrypted. Old keys stay in secret.key until "whalefall keys remove ID". Processes using ${ctx.config.dataDir} read the new key from secret.key when they next need one (no restart).`,
        );
        // A process on another host reads its own secret.key: it cannot decrypt what is now under the new key.
        const elsewhere = (await ctx.processes.live()).filter((p) => p.host !== HOST);
        if (elsewhere.length)
          printErr(
            `warning: ${elsewhere.map((p) => `${p.role} pid ${p.pid} on ${p.host}`).join(', ')} use this store from another host and read their key there (secret.key or WHALEFALL_SECRET_KEY): give them the new key (the last line of this secret.key), or they cannot decrypt the re-encrypted secrets`,
          );
      }),
    );
  keys
    .command('remove <key_id>')
    .description('remove an old key from secret.key (refused while a credential, instance TLS material or webhook secret still needs it)')
    .action(async (id: string) =>
      withContext(async (ctx) => {
        await removeUnusedKey({ ...ctx, dataDir: ctx.config.dataDir }, id);
        print(`key ${id} removed`);
      }),
    );
}
