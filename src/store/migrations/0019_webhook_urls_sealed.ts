import type { Kysely } from 'kysely';
import type { MigrationFactory } from './helpers.js';

/**
 * Issue 17 (item 5): webhook URLs carry tokens (`?access_token=…`, Slack's path, basic-auth passwords), so they
 * are stored encrypted with the credentials' key ring, like the robots' signing secrets: each channel of
 * `alert_rules.channels` becomes `{type, url_enc, secret_enc?}` (from `{type, url, …}`), and
 * `alert_deliveries.url` holds the encrypted URL (`v1:…`). The code still reads a clear URL (a row written
 * by an older process during a rolling upgrade); `whalefall keys rotate` seals any it finds.
 */
export const webhookUrlsSealed: MigrationFactory = (_t, _dialect, env) => ({
  async up(db: Kysely<any>) {
    const need = () => {
      if (!env.seal) throw new Error('0019 needs the key ring to encrypt the stored webhook URLs (run it through whalefall migrate or serve)');
      return env.seal;
    };
    const rules = (await db.selectFrom('alert_rules').select(['id', 'channels']).execute()) as { id: number; channels: string }[];
    for (const r of rules) {
      const channels = JSON.parse(r.channels) as ({ url?: string; url_enc?: string } & Record<string, unknown>)[];
      if (!channels.some((c) => typeof c.url === 'string')) continue;
      const seal = need();
      const sealed = channels.map(({ url, ...rest }) => (typeof url === 'string' ? { ...rest, url_enc: seal(url) } : rest));
      await db
        .updateTable('alert_rules')
        .set({ channels: JSON.stringify(sealed) })
        .where('id', '=', r.id)
        .execute();
    }
    const deliveries = (await db.selectFrom('alert_deliveries').select(['id', 'url']).where('url', 'not like', 'v1:%').execute()) as {
      id: number;
      url: string;
    }[];
    for (const d of deliveries)
      await db
        .updateTable('alert_deliveries')
        .set({ url: need()(d.url) })
        .where('id', '=', d.id)
        .execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
