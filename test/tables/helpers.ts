/** Shared by the table tests: an instance over a credential, and a MariaDB login with the documented grants. */
import type mysql from 'mysql2/promise';
import { CLI_ACTOR } from '../../src/services/audit.service.js';
import type { TestContext } from '../helpers/context.js';
import { uniqueName } from '../helpers/targets.js';

export async function addInstance(
  ctx: TestContext,
  dbType: 'postgresql' | 'mariadb',
  port: number,
  username: string,
  options: Record<string, unknown> = {},
  password = 'unused-Secret-9',
) {
  const cred = await ctx.credentials.create({ name: uniqueName('cred'), db_type: dbType, username, password }, CLI_ACTOR);
  const inst = await ctx.instances.create({ name: uniqueName(dbType), db_type: dbType, host: '127.0.0.1', port, credential_id: cred.id, options }, CLI_ACTOR);
  return inst.id;
}

/** A login with the grants the collector documents (SELECT, SHOW VIEW on *.*); root has no password here. */
export async function mysqlReader(admin: mysql.Connection, user: string): Promise<[string, Record<string, unknown>, string]> {
  const password = `My-Secret-${user.slice(-8)}`;
  for (const host of ['%', 'localhost', '127.0.0.1']) {
    await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, host, password]);
    await admin.query('GRANT SELECT, SHOW VIEW ON *.* TO ?@?', [user, host]);
  }
  return [user, {}, password];
}
