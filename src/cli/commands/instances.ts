/** `whalefall instances add|list|test`. */
import type { Command } from 'commander';
import { Option } from 'commander';
import { DB_TYPES, type DbType } from '../../domain/db-type.js';
import { formatBytes } from '../../lib/sizes.js';
import { AppError } from '../../lib/errors.js';
import { CLI_ACTOR } from '../../services/audit.service.js';
import type { Context } from '../../context.js';
import { CliError, cliText, withContext, readSecret, table, print } from '../shared.js';

export function register(instances: Command): void {
  instances
    .command('add')
    .description('register an instance')
    .requiredOption('--name <name>', 'unique instance name')
    .addOption(new Option('--type <db_type>', 'engine').choices([...DB_TYPES]).makeOptionMandatory())
    .requiredOption('--host <host>', 'host name or IP')
    .option('--port <port>', 'port (default: the engine default)')
    .option('--database <name>', 'service/database name where the engine needs one')
    .option('--credential <name>', 'use an existing credential')
    .option('--username <user>', 'create a credential for this instance with this user')
    .option('--password-stdin', 'read the password from standard input')
    .option('--password-env <VAR>', 'read the password from this environment variable')
    .option('--tag <tag...>', 'tags')
    .option('--inactive', 'register disabled')
    .option('--confirm-duplicate', 'register it although the same server (host:port) is registered under another name; the estate total counts it once')
    .action(
      async (o: {
        name: string;
        type: DbType;
        host: string;
        port?: string;
        database?: string;
        credential?: string;
        username?: string;
        passwordStdin?: boolean;
        passwordEnv?: string;
        tag?: string[];
        inactive?: boolean;
        confirmDuplicate?: boolean;
      }) =>
        withContext(async (ctx) => {
          if (o.credential && o.username) throw new CliError('give either --credential or --username, not both');
          if (o.passwordStdin && o.passwordEnv) throw new CliError('give either --password-stdin or --password-env VAR, not both');
          if ((o.passwordStdin || o.passwordEnv) && o.username === undefined) {
            throw new CliError(`${o.passwordStdin ? '--password-stdin' : '--password-env'} needs --username (the login the password belongs to)`);
          }
          const password =
            o.username === undefined
              ? undefined
              : await readSecret(
                  o,
                  `the password of ${o.username}`,
                  `a login without a password: --password-env VAR with VAR set and empty (VAR= whalefall instances add … --password-env VAR)`,
                );
          if (o.username !== undefined && password === undefined) throw new CliError('--username needs --password-stdin or --password-env VAR');
          let credentialId: number | undefined;
          if (o.credential) {
            const c = await ctx.credentials.findByName(o.credential);
            if (!c) throw new CliError(`credential "${o.credential}" does not exist`);
            credentialId = c.id;
          }
          const input = {
            name: o.name,
            db_type: o.type,
            host: o.host,
            port: o.port,
            database_name: o.database,
            credential_id: credentialId,
            tags: o.tag ?? [],
            is_active: !o.inactive,
            confirm_duplicate: o.confirmDuplicate === true,
          };
          // The same question as the API and the web form: a server registered again under another name is asked
          // about. Everything the instance would be refused for is asked before a credential is made for it: a
          // refusal leaves nothing behind, not even in the audit log.
          await ctx.instances.checkNew(input, { duplicateGuard: true }).catch(duplicateAnswer);
          let createdCredential: number | undefined;
          if (o.username !== undefined) {
            const name = await freeCredentialName(ctx, o.name);
            createdCredential = (await ctx.credentials.create({ name, db_type: o.type, username: o.username, password: password! }, CLI_ACTOR)).id;
          }
          const inst = await ctx.instances
            .create({ ...input, credential_id: createdCredential ?? credentialId }, CLI_ACTOR, { duplicateGuard: true })
            .catch(async (err) => {
              // Registered meanwhile by someone else: nothing half-done, the credential made for this instance goes with it.
              if (createdCredential) await ctx.credentials.delete(createdCredential, CLI_ACTOR);
              return duplicateAnswer(err);
            });
          print(`added instance ${inst.name} (id ${inst.id}, ${inst.db_type} ${inst.host}:${inst.port})`);
        }),
    );
  instances
    .command('list')
    .description('list instances with their capacity')
    .option('--json', 'machine-readable output')
    .option('--tag <tag>', 'only instances with this tag')
    .action(async (o: { json?: boolean; tag?: string }) =>
      withContext(async (ctx) => {
        const list = await ctx.instances.list({ tag: o.tag });
        // `last_sync_error` in the CLI's language; `last_sync_error_key` and `_params` beside it, as the API gives them.
        const localized = list.map((i) =>
          i.last_sync_error_key ? { ...i, last_sync_error: cliText({ key: i.last_sync_error_key, params: i.last_sync_error_params ?? undefined }) } : i,
        );
        if (o.json) return print(JSON.stringify(localized, null, 2));
        print(
          table(
            list.map((i) => ({
              id: i.id,
              name: i.name,
              type: i.db_type,
              address: `${i.host}:${i.port}`,
              active: i.is_active ? 'yes' : 'no',
              databases: i.database_count,
              total: i.total_size_bytes === null ? null : formatBytes(i.total_size_bytes),
              last_sync: i.last_sync_at ? `${i.last_sync_status} ${i.last_sync_at}` : null,
            })),
          ),
        );
      }),
    );
  instances
    .command('test <name>')
    .description('test the connection of an instance')
    .action(async (name: string) =>
      withContext(async (ctx) => {
        const inst = await ctx.instances.getByName(name);
        const r = await ctx.connections.probe(inst.id);
        print(`ok: ${inst.name} answered in ${r.latency_ms} ms (${r.server_version})`);
      }),
    );
}

type Registered = { name: string; host: string; port: number };

/** A refusal as the CLI says it: the same server under another name names the registrations; anything else as it is. */
function duplicateAnswer(err: unknown): never {
  if (err instanceof AppError && err.code === 'duplicate_server') throw duplicateRefused((err.extra as { duplicates: Registered[] }).duplicates);
  throw err;
}

/** `<instance>-credential`, or `-2`, `-3`… when a credential of that name is left from an instance deleted before. */
async function freeCredentialName(ctx: Context, instance: string): Promise<string> {
  for (let n = 1; ; n++) {
    const name = `${instance}-credential${n === 1 ? '' : `-${n}`}`;
    if (!(await ctx.credentials.findByName(name))) return name;
  }
}

/** `instances add` for a server registered under another name: nothing added, the registrations named. */
function duplicateRefused(dups: Registered[]): CliError {
  return new CliError(
    `${dups[0]!.host}:${dups[0]!.port} is already registered as ${dups.map((d) => `"${d.name}"`).join(', ')}: nothing added. To register the same server again under this name, add --confirm-duplicate (the estate total counts it once)`,
  );
}
