/** `whalefall instances discover`: find instances on hosts and subnets. */
import type { Command } from 'commander';
import fs from 'node:fs';
import { Option } from 'commander';
import { CLI_ACTOR } from '../../services/audit.service.js';
import { FLEET_FORMATS, type FleetFormat } from '../../services/fleet.service.js';
import { DISCOVERY_LIMITS, DiscoveryService } from '../../services/discovery.service.js';
import { withContext, table, print } from '../shared.js';

export function register(instances: Command): void {
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
    .action(
      async (
        targets: string[],
        o: {
          file?: string;
          ports: string;
          maxTargets?: string;
          rate?: string;
          concurrency?: string;
          timeoutMs?: string;
          deadlineMs?: string;
          credential?: string;
          output?: string;
          format?: FleetFormat;
          json?: boolean;
        },
      ) =>
        withContext(async (ctx) => {
          const list = [...targets, ...(o.file ? DiscoveryService.targetsFromFile(fs.readFileSync(o.file, 'utf8')) : [])];
          const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
          const r = await ctx.discovery.discover(
            {
              targets: list,
              ports: String(o.ports)
                .split(',')
                .map((p) => Number(p.trim())),
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
          if (o.json) return print(JSON.stringify(r, null, 2));
          print(
            table(
              r.found.map((f) => ({ address: `${f.host}:${f.port}`, type: f.db_type, version: f.server_version, registered: f.registered_as, note: f.note })),
            ),
          );
          print(
            `\n${r.targets} endpoints, ${r.probed} probed${r.not_probed ? `, ${r.not_probed} NOT probed (deadline)` : ''} in ${r.elapsed_ms} ms: ` +
              `${r.found.length} answered, ${r.proposals.length} not registered${o.output ? ` (written to ${o.output})` : ''}`,
          );
        }),
    );
}
