/**
 * The `whalefall` command. Exit codes: 0 success; 1 failure, with a one-line
 * reason on stderr (`whalefall: …`); sync exits 1 when any instance failed.
 */
import fs from 'node:fs';
import pino from 'pino';
import { Command, Option } from 'commander';
import { ConfigError, type Config } from '../config.js';
import { describeConfig, resolveConfig } from '../config-file.js';
import { createContext, storeOptionsOf, type Context } from '../context.js';
import { DB_TYPES } from '../engines/engine.js';
import { AppError, errorMessage } from '../lib/errors.js';
import { createLogger } from '../lib/logger.js';
import { formatBytes } from '../lib/sizes.js';
import { openStore } from '../store/db.js';
import { migrationState } from '../store/migrations/index.js';
import { CLI_ACTOR } from '../services/audit.service.js';
import { ROLES } from '../services/auth.service.js';
import { addKey, generatePassword, loadKeyRing, removeKey, SecretKeyError } from '../lib/crypto.js';
import SQLite from 'better-sqlite3';
import { backupSqlite, BackupError, restoreSqlite } from '../store/backup.js';
import type { RecordOutcome } from '../services/capacity-sync.service.js';
import path from 'node:path';
import { FLEET_FORMATS, type FleetFormat } from '../services/fleet.service.js';
import { DISCOVERY_LIMITS, DiscoveryService } from '../services/discovery.service.js';
import { ProcessesService } from '../services/processes.service.js';
import { ProcessesRepository } from '../store/processes.repository.js';
import { ESTATE_TIME_ZONE } from '../services/estate.service.js';
import { systemClock } from '../lib/clock.js';

class CliError extends Error {}

/** Global options (`--config`, `--pretty`) and a command's flags, set as commander parses. */
const cli: { configFile?: string; pretty?: boolean; flags: Record<string, string | undefined> } = { flags: {} };

/** flags > environment > whalefall.yaml > defaults. */
function loadConfig(): Config {
  return resolveConfig({ configFile: cli.configFile, flags: cli.flags }).config;
}

async function withContext<T>(fn: (ctx: Context) => Promise<T>): Promise<T> {
  const config = loadConfig();
  // CLI output is for people: logs go to stderr and only from warn up unless LOG_LEVEL says otherwise.
  const logger = createLogger(process.env.LOG_LEVEL || 'warn', pino.destination(2));
  const ctx = await createContext(config, { logger });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

/** A secret from stdin (first line) or from a named environment variable; never from argv. */
async function readSecret(opts: { passwordStdin?: boolean; passwordEnv?: string }, what: string): Promise<string | undefined> {
  if (opts.passwordStdin) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const line = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
    if (!line) throw new CliError(`${what}: nothing on standard input`);
    return line;
  }
  if (opts.passwordEnv) {
    const v = process.env[opts.passwordEnv];
    if (v === undefined) throw new CliError(`${what}: environment variable ${opts.passwordEnv} is not set`);
    return v;
  }
  return undefined;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function table(rows: Record<string, string | number | null>[]): string {
  if (rows.length === 0) return '(none)';
  const cols = Object.keys(rows[0]!);
  const width = (s: string) => [...s].reduce((w, ch) => w + (/[\u1100-\uffff]/.test(ch) ? 2 : 1), 0);
  const cell = (v: unknown) => (v === null || v === undefined ? '—' : String(v));
  const w = cols.map((c) => Math.max(width(c), ...rows.map((r) => width(cell(r[c])))));
  const line = (vals: string[]) => vals.map((v, i) => v + ' '.repeat(w[i]! - width(v))).join('  ').trimEnd();
  return [line(cols), line(w.map((n) => '-'.repeat(n))), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}

/** `sync --tables`: one instance after the other, each within its table budget; exit 1 when any failed. */
async function syncTables(ctx: Context, o: { all?: boolean; instance?: string[]; database?: string[] }): Promise<void> {
  if (o.database && (o.all || o.instance?.length !== 1)) throw new CliError('--database needs exactly one --instance');
  const instances = o.all ? (await ctx.instances.list({ active: true })).map((i) => i.name) : o.instance!;
  const rows: Record<string, string | number | null>[] = [];
  let failed = 0;
  for (const name of instances) {
    const inst = await ctx.instances.getByName(name);
    try {
      const r = await ctx.tables.syncTables(inst.id, { databases: o.database ?? null, actor: CLI_ACTOR, syncType: 'manual_batch' });
      rows.push({ instance: r.instance_name, status: 'completed', databases: r.databases.length, tables: r.saved_count, 'new/del/rest': `${r.created_count}/${r.deleted_count}/${r.restored_count}`, ms: r.duration_ms, cut: r.cut.length ? r.cut.join('; ') : null });
      for (const w of r.warnings) process.stderr.write(`${r.instance_name}: ${w}\n`);
    } catch (err) {
      failed++;
      rows.push({ instance: name, status: 'failed', databases: null, tables: null, 'new/del/rest': null, ms: null, cut: errorMessage(err) });
    }
  }
  console.log(table(rows));
  if (failed > 0) process.exitCode = 1;
}

function outcomeRow(o: RecordOutcome) {
  return {
    instance: o.instance_name,
    status: o.status,
    databases: o.counts?.saved ?? null,
    total: o.counts ? formatBytes(o.counts.total_size_bytes) : null,
    'new/upd/del/rest': o.counts ? `${o.counts.created}/${o.counts.updated}/${o.counts.deleted}/${o.counts.restored}` : null,
    ms: o.duration_ms,
    error: o.error_message ? `[${o.error_code ?? 'skipped'}] ${o.error_message}` : null,
  };
}

export function buildCli(): Command {
  const program = new Command('whalefall')
    .description('Whalefall (鲸落): database capacity service')
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .option('--config <file>', 'configuration file (whalefall.yaml; default: $WHALEFALL_CONFIG)')
    .option('--pretty', 'human-readable logs instead of JSON lines')
    .hook('preAction', (_program, action) => {
      const o = program.opts();
      cli.configFile = o.config as string | undefined;
      cli.pretty = Boolean(o.pretty);
      // Only serve's own flags are configuration (instances add has a --host/--port of its own).
      const a = action.name() === 'serve' ? action.opts() : {};
      cli.flags = { HOST: a.host as string | undefined, PORT: a.port as string | undefined, WHALEFALL_DATA_DIR: a.dataDir as string | undefined, WHALEFALL_WORK: a.work === false ? 'off' : undefined };
    });

  program
    .command('serve')
    .description('run the HTTP service (and the scheduler)')
    .option('--host <host>', 'listen address (HOST)')
    .option('--port <port>', 'listen port (PORT)')
    .option('--data-dir <dir>', 'data directory (WHALEFALL_DATA_DIR)')
    .option('--no-work', 'queue mode: do not run sync jobs in this process, an API and scheduler replica (WHALEFALL_WORK=off)')
    .action(async () => {
      const { serve } = await import('../server.js');
      await serve(loadConfig(), { pretty: cli.pretty });
    });

  program
    .command('worker')
    .description('run capacity sync jobs from the pg-boss queue (WHALEFALL_QUEUE=pg-boss, PostgreSQL store)')
    .action(async () => {
      const { worker } = await import('../server.js');
      await worker(loadConfig(), { pretty: cli.pretty });
    });

  program
    .command('migrate')
    .description('apply store migrations and exit')
    .option('--dry-run', 'list the migrations that would be applied; change nothing')
    .action(async (o) => {
      const config: Config = loadConfig();
      const store = openStore(storeOptionsOf(config));
      try {
        if (o.dryRun) {
          const m = await migrationState(store.db);
          if (m.unknown.length) throw new CliError(`the store is newer than this Whalefall (unknown migrations: ${m.unknown.join(', ')})`);
          console.log(m.pending.length ? `pending (${m.pending.length}): ${m.pending.join(', ')}` : `store is up to date (${store.describe})`);
          console.log(`applied: ${m.applied.length ? m.applied.join(', ') : '(none)'}`);
          return;
        }
        const applied = await store.migrate();
        console.log(applied.length ? `applied: ${applied.join(', ')}` : `store is up to date (${store.describe})`);
      } finally {
        await store.close();
      }
    });

  const instances = program.command('instances').description('manage monitored instances');
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
    .action(async (o) =>
      withContext(async (ctx) => {
        let credentialId: number | undefined;
        let createdCredential = false;
        if (o.credential && o.username) throw new CliError('give either --credential or --username, not both');
        if (o.credential) {
          const c = await ctx.credentials.findByName(o.credential);
          if (!c) throw new CliError(`credential "${o.credential}" does not exist`);
          credentialId = c.id;
        } else if (o.username) {
          const password = await readSecret(o, '--username');
          if (password === undefined) throw new CliError('--username needs --password-stdin or --password-env VAR');
          const c = await ctx.credentials.create({ name: `${o.name}-credential`, db_type: o.type, username: o.username, password }, CLI_ACTOR);
          credentialId = c.id;
          createdCredential = true;
        }
        const input = { name: o.name, db_type: o.type, host: o.host, port: o.port, database_name: o.database, credential_id: credentialId, tags: o.tag ?? [], is_active: !o.inactive };
        const inst = await ctx.instances.create(input, CLI_ACTOR).catch(async (err) => {
          // Nothing half-done: the credential made for this instance goes with it.
          if (createdCredential && credentialId) await ctx.credentials.delete(credentialId, CLI_ACTOR);
          throw err;
        });
        console.log(`added instance ${inst.name} (id ${inst.id}, ${inst.db_type} ${inst.host}:${inst.port})`);
      }),
    );
  instances
    .command('list')
    .description('list instances with their capacity')
    .option('--json', 'machine-readable output')
    .option('--tag <tag>', 'only instances with this tag')
    .action(async (o) =>
      withContext(async (ctx) => {
        const list = await ctx.instances.list({ tag: o.tag });
        if (o.json) return console.log(JSON.stringify(list, null, 2));
        console.log(
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
        const r = await ctx.capacitySync.testConnection(inst.id);
        console.log(`ok: ${inst.name} answered in ${r.latency_ms} ms (${r.server_version})`);
      }),
    );
  instances
    .command('import <file>')
    .description('import instances from a CSV or YAML file (format from the extension, or --format); nothing stored unless the whole file is valid')
    .addOption(new Option('--format <format>', 'file format').choices([...FLEET_FORMATS]))
    .option('--dry-run', 'validate and show the plan, store nothing')
    .option('--partial', 'store the valid rows even if some rows are invalid')
    .option('--disable-missing', 'disable registered instances that are not in the file')
    .option('--json', 'print the whole report as JSON')
    .action(async (file: string, o) =>
      withContext(async (ctx) => {
        const format: FleetFormat = o.format ?? (/\.ya?ml$/i.test(file) ? 'yaml' : /\.csv$/i.test(file) ? 'csv' : undefined);
        if (!format) throw new CliError(`${file}: cannot tell the format from the name; give --format csv|yaml`);
        const text = file === '-' ? await readStdin() : fs.readFileSync(file, 'utf8');
        const r = await ctx.fleet.import(text, { format, dryRun: o.dryRun, partial: o.partial, disableMissing: o.disableMissing }, CLI_ACTOR);
        if (o.json) console.log(JSON.stringify(r, null, 2));
        else {
          if (r.errors.length) {
            console.log(table(r.errors.map((e) => ({ row: e.row, line: e.line, column: e.column, field: e.field, error: e.message }))));
            console.log('');
          }
          const verb = r.applied ? '' : r.dry_run ? 'would be ' : 'NOT ';
          console.log(
            `${r.total_rows} rows, ${r.invalid_rows} invalid: ${r.created} ${verb}created, ${r.updated} ${verb}updated, ${r.unchanged} unchanged; ` +
              `${r.missing.length} registered but not in the file${r.disabled.length ? `, ${r.disabled.length} ${verb}disabled` : ''}`,
          );
          if (r.missing.length && !r.disable_missing) console.log(`missing (use --disable-missing to disable them): ${r.missing.slice(0, 20).join(', ')}${r.missing.length > 20 ? ', …' : ''}`);
        }
        if (!r.applied && !r.dry_run) throw new CliError(`${r.errors.length} errors: nothing imported (fix them, or use --partial)`);
      }),
    );
  instances
    .command('export')
    .description('export the registry as CSV or YAML (credentials by name, no secrets)')
    .addOption(new Option('--format <format>', 'file format').choices([...FLEET_FORMATS]).default('csv'))
    .option('--tag <tag>', 'only instances with this tag')
    .option('--output <file>', 'write to this file instead of standard output')
    .action(async (o) =>
      withContext(async (ctx) => {
        const text = await ctx.fleet.export(o.format, { tag: o.tag });
        if (o.output) fs.writeFileSync(o.output, text);
        else process.stdout.write(text);
      }),
    );
  instances
    .command('test-connection [names...]')
    .description('test the connection of many instances (names, --tag, or --all active ones) with bounded concurrency')
    .option('--tag <tag>', 'every instance with this tag')
    .option('--all', 'every active instance')
    .option('--concurrency <n>', 'connections at once', '8')
    .option('--doctor', 'also check the grants the collector needs')
    .option('--json', 'machine-readable output')
    .action(async (names: string[], o) =>
      withContext(async (ctx) => {
        const rows = await ctx.fleet.testConnections({ names, tag: o.tag, all: o.all }, { concurrency: o.concurrency, doctor: o.doctor });
        if (o.json) console.log(JSON.stringify(rows, null, 2));
        else {
          const yn = (b: boolean | null) => (b === null ? null : b ? 'yes' : 'no');
          console.log(
            table(
              rows.map((r) => ({
                instance: r.name,
                address: r.address,
                reachable: yn(r.reachable),
                auth: yn(r.auth_ok),
                version: r.server_version,
                ms: r.latency_ms,
                ...(o.doctor ? { grants: r.doctor ? (r.doctor.ok ? 'ok' : `missing ${r.doctor.missing.join(', ')}`) : null } : {}),
                error: r.error ? `[${r.error_code}] ${r.error}` : null,
              })),
            ),
          );
          const good = rows.filter((r) => r.reachable && r.auth_ok).length;
          console.log(`\n${good}/${rows.length} connected`);
        }
        if (rows.some((r) => !(r.reachable && r.auth_ok))) process.exitCode = 1;
      }),
    );
  instances
    .command('discover [targets...]')
    .description('probe hosts, IPv4 CIDR ranges or host:port for PostgreSQL / MySQL / MariaDB (no login) and propose the unregistered ones')
    .option('--file <file>', 'targets from a file, one per line (# comments)')
    .option('--ports <list>', 'ports for targets without one', '5432,3306')
    .option('--max-targets <n>', `refuse when the list expands to more endpoints (default ${DISCOVERY_LIMITS.maxTargets.def})`)
    .option('--rate <n>', `new connections per second (default ${DISCOVERY_LIMITS.rate.def})`)
    .option('--concurrency <n>', `probes at once (default ${DISCOVERY_LIMITS.concurrency.def})`)
    .option('--timeout-ms <n>', `per endpoint (default ${DISCOVERY_LIMITS.timeoutMs.def})`)
    .option('--deadline-ms <n>', `the whole run (default ${DISCOVERY_LIMITS.deadlineMs.def})`)
    .option('--credential <name>', 'credential name to put in the proposals')
    .option('--output <file>', 'write the proposals as an import file (then: whalefall instances import FILE)')
    .addOption(new Option('--format <format>', 'format of --output').choices([...FLEET_FORMATS]))
    .option('--json', 'print the whole report as JSON')
    .action(async (targets: string[], o) =>
      withContext(async (ctx) => {
        const list = [...targets, ...(o.file ? DiscoveryService.targetsFromFile(fs.readFileSync(o.file, 'utf8')) : [])];
        const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
        const r = await ctx.discovery.discover(
          {
            targets: list,
            ports: String(o.ports).split(',').map((p) => Number(p.trim())),
            max_targets: num(o.maxTargets),
            rate: num(o.rate),
            concurrency: num(o.concurrency),
            timeout_ms: num(o.timeoutMs),
            deadline_ms: num(o.deadlineMs),
            credential: o.credential,
          },
          CLI_ACTOR,
        );
        if (o.output) {
          const format: FleetFormat = o.format ?? (/\.ya?ml$/i.test(o.output) ? 'yaml' : 'csv');
          fs.writeFileSync(o.output, DiscoveryService.proposalsFile(r, format));
        }
        if (o.json) return console.log(JSON.stringify(r, null, 2));
        console.log(table(r.found.map((f) => ({ address: `${f.host}:${f.port}`, type: f.db_type, version: f.server_version, registered: f.registered_as, note: f.note }))));
        console.log(
          `\n${r.targets} endpoints, ${r.probed} probed${r.not_probed ? `, ${r.not_probed} NOT probed (deadline)` : ''} in ${r.elapsed_ms} ms: ` +
            `${r.found.length} answered, ${r.proposals.length} not registered${o.output ? ` (written to ${o.output})` : ''}`,
        );
      }),
    );

  program
    .command('sync')
    .description('collect capacity now')
    .option('--instance <name...>', 'instance name(s)')
    .option('--all', 'every active instance')
    .option('--tables', 'collect table-level sizes instead (within each instance\'s table budget)')
    .option('--database <name...>', 'with --tables and one --instance: only these databases')
    .action(async (o) =>
      withContext(async (ctx) => {
        if (!o.all && !o.instance) throw new CliError('give --instance NAME or --all');
        if (o.all && o.instance) throw new CliError('give --instance NAME or --all, not both');
        if (o.database && !o.tables) throw new CliError('--database goes with --tables');
        if (o.tables) return syncTables(ctx, o);
        await ctx.recovery.recover(); // a session left running by a crashed run becomes `interrupted` first
        const ids = o.all ? ('all-active' as const) : await Promise.all((o.instance as string[]).map(async (n) => (await ctx.instances.getByName(n)).id));
        const tty = process.stderr.isTTY;
        const r = await ctx.capacitySync.syncMany(ids, {
          syncType: 'manual_batch',
          actor: CLI_ACTOR,
          onRecord: (rec, done, total) => {
            const bar = '#'.repeat(Math.round((done / total) * 30)).padEnd(30, '.');
            const line = `[${bar}] ${done}/${total} ${rec.instance_name}: ${rec.status}`;
            process.stderr.write(tty ? `\r${line.padEnd(100).slice(0, 100)}${done === total ? '\n' : ''}` : `${line}\n`);
          },
        });
        console.log(table(r.outcomes.map(outcomeRow)));
        const failed = r.outcomes.filter((x) => x.status === 'failed').length;
        console.log(`session ${r.session_id}: ${r.status} (${r.outcomes.length - failed} ok, ${failed} failed)`);
        if (failed > 0) process.exitCode = 1;
      }),
    );

  program
    .command('doctor')
    .description('check the grants each instance needs (all active instances, or one)')
    .option('--instance <name>', 'only this instance')
    .option('--json', 'machine-readable output')
    .action(async (o) =>
      withContext(async (ctx) => {
        const list = o.instance ? [await ctx.instances.getByName(o.instance)] : await ctx.instances.list({ active: true });
        if (list.length === 0) throw new CliError('no active instances to check');
        let problems = 0;
        const reports = [];
        for (const inst of list) {
          try {
            const r = await ctx.capacitySync.doctor(inst.id);
            reports.push(r);
            if (!r.ok) problems++;
          } catch (err) {
            problems++;
            reports.push({ instance_name: inst.name, db_type: inst.db_type, ok: false, error: errorMessage(err), checks: [] });
          }
        }
        if (o.json) {
          console.log(JSON.stringify(reports, null, 2));
        } else {
          for (const r of reports) {
            console.log(`${r.ok ? 'OK  ' : 'FAIL'} ${r.instance_name} (${r.db_type}${'server_version' in r ? ` ${r.server_version}` : ''})`);
            if ('error' in r) console.log(`     ${r.error}`);
            for (const c of r.checks) {
              console.log(`  ${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`);
              if (c.undercounts) console.log(`      under-counted: ${c.undercounts}`);
              for (const f of c.fix ?? []) console.log(`      fix: ${f}`);
            }
          }
        }
        if (problems > 0) process.exitCode = 1;
      }),
    );

  program
    .command('aggregate')
    .description('compute period statistics now (default: the periods containing today)')
    .addOption(new Option('--period <period>', 'only this period').choices(['daily', 'weekly', 'monthly', 'quarterly']))
    .option('--date <YYYY-MM-DD>', 'the periods containing this date')
    .option('--from <YYYY-MM-DD>', 'start of a range')
    .option('--to <YYYY-MM-DD>', 'end of a range')
    .action(async (o) =>
      withContext(async (ctx) => {
        if (o.date && (o.from || o.to)) throw new CliError('give --date or --from/--to, not both');
        const r = await ctx.aggregation.aggregate({ period: o.period, from: o.date ?? o.from, to: o.date ?? o.to });
        console.log(table(r.periods.map((p) => ({ period: p.period, from: p.period_start, to: p.period_end, periods: p.periods, instance_rows: p.instance_rows, database_rows: p.database_rows }))));
      }),
    );

  program
    .command('cancel <session-id>')
    .description('cancel a running sync session (instances not started are skipped, running ones aborted)')
    .action(async (sessionId: string) =>
      withContext(async (ctx) => {
        const r = await ctx.capacitySync.cancel(sessionId, CLI_ACTOR);
        console.log(`session ${r.session_id}: cancel requested (${r.skipped} not started → skipped, ${r.running} running → aborting)${r.status !== 'running' ? `; now ${r.status}` : ''}`);
      }),
    );

  const configCmd = program.command('config').description('configuration file');
  configCmd
    .command('check')
    .description('check whalefall.yaml and the environment; print the effective configuration (secrets masked)')
    .option('--json', 'machine-readable output')
    .action((o) => {
      const r = resolveConfig({ configFile: cli.configFile, flags: cli.flags });
      const rows = describeConfig(r);
      if (o.json) return console.log(JSON.stringify({ file: r.file ?? null, settings: rows }, null, 2));
      console.log(`configuration ok (${r.file ? `file ${r.file}` : 'no file'}; precedence: flags > environment > file > defaults)`);
      console.log(table(rows.map((x) => ({ key: x.key, env: x.env, value: x.value, source: x.source }))));
    });

  const users = program.command('users').description('manage users');
  users
    .command('add <username>')
    .description('create a user (password generated and printed once unless given)')
    .addOption(new Option('--role <role>').choices([...ROLES]).default('viewer'))
    .option('--password-stdin', 'read the password from standard input')
    .option('--password-env <VAR>', 'read the password from this environment variable')
    .action(async (username: string, o) =>
      withContext(async (ctx) => {
        const given = await readSecret(o, 'password');
        const password = given ?? generatePassword();
        const u = await ctx.auth.createUser({ username, password, role: o.role }, CLI_ACTOR);
        console.log(`created user ${u.username} (${u.role})${given ? '' : `, password: ${password}`}`);
      }),
    );
  users
    .command('passwd <username>')
    .description('set a new password (generated and printed once unless given)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--password-env <VAR>', 'read the password from this environment variable')
    .action(async (username: string, o) =>
      withContext(async (ctx) => {
        const u = await ctx.auth.userByName(username);
        const given = await readSecret(o, 'password');
        const password = given ?? generatePassword();
        await ctx.auth.updateUser(u.id, { password }, CLI_ACTOR);
        console.log(`password of ${u.username} changed${given ? '' : `: ${password}`}`);
      }),
    );
  users
    .command('list')
    .description('list users')
    .action(async () => withContext(async (ctx) => console.log(table((await ctx.auth.listUsers()).map((u) => ({ id: u.id, username: u.username, role: u.role, active: u.is_active ? 'yes' : 'no' }))))));

  const tokens = program.command('tokens').description('API tokens for scripts');
  tokens
    .command('create')
    .description('create a bearer token (printed once)')
    .requiredOption('--user <username>', 'owner')
    .requiredOption('--name <name>', 'what the token is for')
    .option('--expires-in-days <n>', 'expiry')
    .action(async (o) =>
      withContext(async (ctx) => {
        const u = await ctx.auth.userByName(o.user);
        const t = await ctx.auth.createToken(u.id, { name: o.name, expires_in_days: o.expiresInDays }, CLI_ACTOR);
        console.log(t.token);
      }),
    );

  const keys = program.command('keys').description('encryption keys of the stored credentials');
  keys
    .command('list')
    .description('key ids, the current one first, and how many credentials each encrypts')
    .action(async () =>
      withContext(async (ctx) => console.log(table((await ctx.credentials.keyUsage()).map((k) => ({ key_id: k.key_id, current: k.current ? 'yes' : '', credentials: k.credentials }))))),
    );
  keys
    .command('rotate')
    .description('add a new key to secret.key and re-encrypt every credential with it (older keys still decrypt until removed)')
    .action(async () =>
      withContext(async (ctx) => {
        const id = addKey(ctx.config.dataDir, ctx.keys, ctx.config.secretKey !== undefined);
        const r = await ctx.credentials.reencryptAll(CLI_ACTOR);
        console.log(`new key ${id}; ${r.reencrypted} credential(s) re-encrypted. Old keys stay in secret.key until "whalefall keys remove ID".`);
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
        console.log(`key ${id} removed`);
      }),
    );

  const storeFile = (config: Config) => {
    if (config.databaseUrl) throw new CliError('the store is PostgreSQL (DATABASE_URL): back it up with pg_dump -Fc and restore with pg_restore (see README)');
    return path.join(config.dataDir, 'whalefall.db');
  };
  const countsLine = (counts: Record<string, number>) =>
    `${Object.values(counts).reduce((a, b) => a + b, 0)} rows in ${Object.keys(counts).length} tables (instances ${counts.instances ?? 0}, database_size_stats ${counts.database_size_stats ?? 0}, users ${counts.users ?? 0})`;
  program
    .command('backup <file>')
    .description('copy the SQLite store to FILE while the service runs (online backup API); secret.key is not included')
    .option('--force', 'overwrite FILE')
    .action(async (file: string, o) => {
      const counts = await backupSqlite(storeFile(loadConfig()), file, { force: o.force });
      console.log(`backup written to ${file}: ${countsLine(counts)}. Keep secret.key (or WHALEFALL_SECRET_KEY) too: credentials cannot be decrypted without it.`);
    });
  program
    .command('restore <file>')
    .description('replace the SQLite store with a backup (stop the service first); the current store is kept beside it')
    .action(async (file: string) => {
      const config = loadConfig();
      await refuseWhileInUse(config, storeFile(config));
      const r = await restoreSqlite(file, storeFile(config));
      console.log(`restored ${file}: ${countsLine(r.counts)}${r.migrated.length ? `; migrated: ${r.migrated.join(', ')}` : ''}${r.previous ? `; the previous store is kept as ${r.previous}` : ''}`);
      const ring = loadKeyRing(config.dataDir, config.secretKey);
      const db = new SQLite(storeFile(config), { readonly: true });
      try {
        const missing = (db.prepare('SELECT DISTINCT key_id FROM credentials').all() as { key_id: string }[]).filter((k) => !ring.keys.has(k.key_id));
        if (missing.length) console.log(`warning: the encryption key(s) ${missing.map((k) => k.key_id).join(', ')} of some credentials are not loaded: restore the matching secret.key`);
      } finally {
        db.close();
      }
    });
  program
    .command('processes')
    .description('the serve and worker processes of the estate whose heartbeat is current (host, pid, version, started, last seen, running jobs)')
    .option('--json', 'machine-readable output')
    .action(async (o) =>
      withContext(async (ctx) => {
        const live = await ctx.processes.live();
        if (o.json) return console.log(JSON.stringify(live, null, 2));
        console.log(table(live.map((p) => ({ role: p.role, host: p.host, pid: p.pid, version: p.version, started: p.started_at, last_seen: p.last_seen_at, running_jobs: p.running_jobs }))));
      }),
    );
  const estate = program.command('estate').description('facts every process of a scale-out estate must agree on');
  estate
    .command('set-time-zone <zone>')
    .description("change the estate's time zone (the day records are filed under); then restart every process with WHALEFALL_TZ=<zone>")
    .action(async (zone: string) =>
      withContext(async (ctx) => {
        try {
          new Intl.DateTimeFormat('en-US', { timeZone: zone });
        } catch {
          throw new CliError(`not a known time zone: "${zone}"`);
        }
        const before = await ctx.processesRepo.estate(ESTATE_TIME_ZONE);
        await ctx.processesRepo.estateSet(ESTATE_TIME_ZONE, zone, ctx.clock.now().toISOString());
        await ctx.audit.record(CLI_ACTOR, { action: 'estate.time_zone', targetType: 'estate', targetId: ESTATE_TIME_ZONE, details: { from: before ?? null, to: zone } });
        console.log(`estate time zone: ${before ?? '(unset)'} → ${zone}. Restart every serve and worker with WHALEFALL_TZ=${zone}; processes with another zone refuse to start.`);
      }),
    );
  return program;
}

/** `restore` while a serve or worker uses the store would lose its writes: refused, naming the process. */
async function refuseWhileInUse(config: Config, file: string): Promise<void> {
  if (!fs.existsSync(file)) return;
  const store = openStore({ sqliteFile: file });
  try {
    const processes = new ProcessesService({ repo: new ProcessesRepository(store.db), clock: systemClock, logger: createLogger('silent'), heartbeatMs: config.heartbeatMs });
    const live = await processes.live().catch(() => []); // a store from before the processes table: nobody beats it
    if (live.length) {
      throw new CliError(`the store is in use by ${live.map((p) => `${p.role} pid ${p.pid} on ${p.host} (last seen ${p.last_seen_at})`).join(', ')}: stop it first`);
    }
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  try {
    await buildCli().parseAsync(process.argv);
  } catch (err) {
    const msg =
      err instanceof AppError || err instanceof CliError || err instanceof SecretKeyError || err instanceof BackupError || err instanceof ConfigError
        ? err.message
        : errorMessage(err);
    // A configuration has one line per mistake: show them all.
    const lines = err instanceof ConfigError ? msg.split('\n') : [msg.split('\n')[0]];
    for (const line of lines) process.stderr.write(`whalefall: ${line}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && fs.realpathSync(process.argv[1]).match(/(whalefall\.mjs|cli[/\\]main\.ts)$/)) await main();
