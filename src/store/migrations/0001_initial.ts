import type { Kysely } from 'kysely';
import { primaryId, type MigrationFactory } from './helpers.js';

export const initialSchema: MigrationFactory = (t) => ({
  async up(db: Kysely<any>) {
    const id = primaryId(t);

    await db.schema
      .createTable('users')
      .addColumn('id', t.id, id)
      .addColumn('username', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('role', 'varchar(16)', (c) => c.notNull())
      .addColumn('is_active', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('locale', 'varchar(16)')
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('api_tokens')
      .addColumn('id', t.id, id)
      .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('name', 'varchar(128)', (c) => c.notNull())
      .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('token_prefix', 'varchar(16)', (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('last_used_at', t.timestamp)
      .addColumn('expires_at', t.timestamp)
      .addColumn('revoked_at', t.timestamp)
      .execute();

    await db.schema
      .createTable('web_sessions')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('csrf_token', 'varchar(64)', (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('expires_at', t.timestamp, (c) => c.notNull())
      .addColumn('source_ip', 'varchar(64)')
      .execute();
    await db.schema.createIndex('web_sessions_expires').on('web_sessions').column('expires_at').execute();

    await db.schema
      .createTable('credentials')
      .addColumn('id', t.id, id)
      .addColumn('name', 'varchar(128)', (c) => c.notNull().unique())
      .addColumn('db_type', 'varchar(16)')
      .addColumn('username', 'varchar(256)', (c) => c.notNull())
      .addColumn('password_enc', 'text', (c) => c.notNull())
      .addColumn('key_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('instances')
      .addColumn('id', t.id, id)
      .addColumn('name', 'varchar(128)', (c) => c.notNull().unique())
      .addColumn('db_type', 'varchar(16)', (c) => c.notNull())
      .addColumn('host', 'varchar(255)', (c) => c.notNull())
      .addColumn('port', 'integer', (c) => c.notNull())
      .addColumn('database_name', 'varchar(255)')
      .addColumn('credential_id', 'bigint', (c) => c.references('credentials.id'))
      .addColumn('is_active', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('description', 'text')
      .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('options', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('last_connected', t.timestamp)
      .addColumn('total_size_bytes', 'bigint')
      .addColumn('database_count', 'integer')
      .addColumn('last_sync_status', 'varchar(16)')
      .addColumn('last_sync_at', t.timestamp)
      .addColumn('last_sync_error', 'text')
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('instances_db_type').on('instances').column('db_type').execute();
    await db.schema.createIndex('instances_credential').on('instances').column('credential_id').execute();

    await db.schema
      .createTable('instance_databases')
      .addColumn('id', t.id, id)
      .addColumn('instance_id', 'bigint', (c) => c.notNull().references('instances.id').onDelete('cascade'))
      .addColumn('database_name', 'varchar(512)', (c) => c.notNull())
      .addColumn('is_system', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('first_seen_date', t.date, (c) => c.notNull())
      .addColumn('last_seen_date', t.date, (c) => c.notNull())
      .addColumn('is_deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('deleted_at', t.timestamp)
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .addUniqueConstraint('instance_databases_instance_name', ['instance_id', 'database_name'])
      .execute();

    await db.schema
      .createTable('database_size_stats')
      .addColumn('id', t.id, id)
      .addColumn('instance_id', 'bigint', (c) => c.notNull().references('instances.id').onDelete('cascade'))
      .addColumn('database_name', 'varchar(512)', (c) => c.notNull())
      .addColumn('collected_date', t.date, (c) => c.notNull())
      .addColumn('size_bytes', 'bigint')
      .addColumn('data_bytes', 'bigint')
      .addColumn('index_bytes', 'bigint')
      .addColumn('log_bytes', 'bigint')
      .addColumn('free_bytes', 'bigint')
      .addColumn('used_bytes', 'bigint')
      .addColumn('method', 'varchar(32)', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('collected_at', t.timestamp, (c) => c.notNull())
      .addColumn('is_deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('deleted_at', t.timestamp)
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .addUniqueConstraint('database_size_stats_day', ['instance_id', 'database_name', 'collected_date'])
      .execute();
    await db.schema.createIndex('database_size_stats_instance_date').on('database_size_stats').columns(['instance_id', 'collected_date']).execute();
    await db.schema.createIndex('database_size_stats_date').on('database_size_stats').column('collected_date').execute();

    await db.schema
      .createTable('instance_size_stats')
      .addColumn('id', t.id, id)
      .addColumn('instance_id', 'bigint', (c) => c.notNull().references('instances.id').onDelete('cascade'))
      .addColumn('collected_date', t.date, (c) => c.notNull())
      .addColumn('total_size_bytes', 'bigint', (c) => c.notNull())
      .addColumn('data_bytes', 'bigint')
      .addColumn('log_bytes', 'bigint')
      .addColumn('database_count', 'integer', (c) => c.notNull())
      .addColumn('collected_at', t.timestamp, (c) => c.notNull())
      .addUniqueConstraint('instance_size_stats_day', ['instance_id', 'collected_date'])
      .execute();

    await db.schema
      .createTable('sync_sessions')
      .addColumn('id', t.id, id)
      .addColumn('session_id', 'varchar(36)', (c) => c.notNull().unique())
      .addColumn('sync_type', 'varchar(32)', (c) => c.notNull())
      .addColumn('sync_category', 'varchar(32)', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('started_at', t.timestamp, (c) => c.notNull())
      .addColumn('completed_at', t.timestamp)
      .addColumn('total_instances', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('successful_instances', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('failed_instances', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_by', 'bigint')
      .execute();
    await db.schema.createIndex('sync_sessions_started').on('sync_sessions').column('started_at').execute();

    // instance_id carries no foreign key: the record of a run outlives a deleted instance.
    await db.schema
      .createTable('sync_instance_records')
      .addColumn('id', t.id, id)
      .addColumn('session_id', 'varchar(36)', (c) => c.notNull().references('sync_sessions.session_id').onDelete('cascade'))
      .addColumn('instance_id', 'bigint', (c) => c.notNull())
      .addColumn('instance_name', 'varchar(128)', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('started_at', t.timestamp)
      .addColumn('completed_at', t.timestamp)
      .addColumn('duration_ms', 'integer')
      .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('databases_count', 'integer')
      .addColumn('saved_count', 'integer')
      .addColumn('created_count', 'integer')
      .addColumn('updated_count', 'integer')
      .addColumn('deleted_count', 'integer')
      .addColumn('restored_count', 'integer')
      .addColumn('total_size_bytes', 'bigint')
      .addColumn('error_code', 'varchar(32)')
      .addColumn('error_message', 'text')
      .addColumn('details', 'text')
      .execute();
    await db.schema.createIndex('sync_records_session').on('sync_instance_records').column('session_id').execute();
    await db.schema.createIndex('sync_records_instance').on('sync_instance_records').columns(['instance_id', 'started_at']).execute();

    // One row per instance being synced, across processes: the row is the lock.
    await db.schema
      .createTable('sync_locks')
      .addColumn('instance_id', 'bigint', (c) => c.primaryKey())
      .addColumn('holder', 'varchar(64)', (c) => c.notNull())
      .addColumn('acquired_at', t.timestamp, (c) => c.notNull())
      .addColumn('expires_at', t.timestamp, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('audit_log')
      .addColumn('id', t.id, id)
      .addColumn('at', t.timestamp, (c) => c.notNull())
      .addColumn('user_id', 'bigint')
      .addColumn('username', 'varchar(64)')
      .addColumn('action', 'varchar(64)', (c) => c.notNull())
      .addColumn('target_type', 'varchar(32)')
      .addColumn('target_id', 'varchar(64)')
      .addColumn('source_ip', 'varchar(64)')
      .addColumn('details', 'text')
      .execute();
    await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
  },
  async down() {
    throw new Error('downgrading below the initial schema is not supported: restore a backup instead');
  },
});
