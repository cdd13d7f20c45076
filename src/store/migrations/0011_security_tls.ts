import type { Kysely } from 'kysely';
import type { MigrationFactory } from './helpers.js';

/**
 * Issue 17 (security, second round): TLS material per instance — CA certificate, client certificate and key
 * (PEM) encrypted with the credential key ring in `tls_enc`, and what may be shown of it (subjects, expiry
 * dates, whether a key is set) in clear in `tls_info`.
 */
export const securityTlsSchema: MigrationFactory = () => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('instances').addColumn('tls_enc', 'text').execute();
    await db.schema.alterTable('instances').addColumn('tls_info', 'text').execute();
  },
  async down() {
    throw new Error('downgrade not supported: restore a backup instead');
  },
});
