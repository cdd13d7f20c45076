/**
 * Discovery: probe an endpoint list (hosts, IPv4 CIDR ranges, host:port,
 * from the request or a file) for PostgreSQL and MySQL/MariaDB handshakes
 * (src/lib/probe.ts: no login, no credential sent) and propose the ones not
 * registered yet as instances, in the import file format.
 *
 * Bounded three ways, and refused rather than truncated when the list is too
 * big: at most `max_targets` endpoints, new connections at most `rate` per
 * second (and `concurrency` at once), everything within `deadline_ms` —
 * endpoints not reached by then are counted as not probed. Over the API it is
 * opt-in (WHALEFALL_DISCOVERY=on); the CLI is an operator's explicit act.
 */
import { mapLimit } from '../lib/concurrency.js';
import { AppError } from '../lib/errors.js';
import { stripControl } from '../lib/control-chars.js';
import { probeEndpoint, type ProbeResult } from '../lib/probe.js';
import type { Clock } from '../lib/clock.js';
import type { InstancesRepository } from '../store/instances.repository.js';
import type { Actor, AuditService } from './audit.service.js';
import { renderFleet, type FleetFormat, type FleetItem } from './fleet.service.js';
import { fail, integer } from './validate.js';
import { msg } from '../client/shared/i18n/index.js';

export interface DiscoveryInput {
  /** `host`, `host:port`, `a.b.c.d/nn` (IPv4 CIDR), `[v6]` or `[v6]:port`; `#` starts a comment in a file. */
  targets: string[];
  /** Ports for entries without one. Default: 5432, 3306. */
  ports?: number[];
  max_targets?: number;
  /** New connections per second. */
  rate?: number;
  concurrency?: number;
  /** Per endpoint: connect and answer. */
  timeout_ms?: number;
  /** The whole run. */
  deadline_ms?: number;
  /** Credential name written into the proposals (checked by the import, not here). */
  credential?: string;
}

export interface DiscoveredEndpoint {
  host: string;
  port: number;
  db_type: 'postgresql' | 'mysql' | 'mariadb';
  server_version: string | null;
  note: string | null;
  /** Name of the registered instance at this address, if any. */
  registered_as: string | null;
}

export interface DiscoveryReport {
  targets: number;
  probed: number;
  not_probed: number;
  elapsed_ms: number;
  found: DiscoveredEndpoint[];
  /** Endpoints that answered and are not registered, as import rows (tag `discovered`). */
  proposals: FleetItem[];
  /** How the probed endpoints that did not answer as a database failed. */
  silent: Record<string, number>;
}

export const DISCOVERY_LIMITS = {
  maxTargets: { def: 256, max: 65_536 },
  rate: { def: 50, max: 2_000 },
  concurrency: { def: 32, max: 512 },
  timeoutMs: { def: 1_500, max: 30_000 },
  deadlineMs: { def: 60_000, max: 3_600_000 },
};

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;

function ipv4ToInt(s: string): number | undefined {
  const m = IPV4.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}
const intToIpv4 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** One entry: its hosts (a lazy range for a CIDR) and its explicit port. */
interface Entry {
  count: number;
  host(i: number): string;
  port: number | null;
}

/** Parse one entry; the field name locates the error (`targets[3]`, or `line 7` of a file). */
export function parseTarget(raw: string, where: string): Entry | undefined {
  let s = raw.replace(/#.*/, '').trim();
  if (!s) return undefined;
  let port: number | null = null;
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    if (v6[2]) port = integer(where, v6[2], 1, 65535);
    const h = v6[1]!;
    return { count: 1, host: () => h, port };
  }
  const withPort = /^(.+):(\d+)$/.exec(s);
  if (withPort) {
    s = withPort[1]!;
    port = integer(where, withPort[2]!, 1, 65535);
  }
  const cidr = /^(.+)\/(\d{1,2})$/.exec(s);
  if (cidr) {
    const base = ipv4ToInt(cidr[1]!);
    const bits = Number(cidr[2]);
    if (base === undefined || bits > 32) fail(where, msg('api.v.cidr', { value: raw }));
    const size = 2 ** (32 - bits);
    const network = Math.floor(base / size) * size;
    // Network and broadcast addresses are not hosts (except in /31 and /32).
    const [first, count] = size > 2 ? [network + 1, size - 2] : [network, size];
    return { count, host: (i) => intToIpv4(first + i), port };
  }
  if (ipv4ToInt(s) === undefined && !HOSTNAME.test(s)) fail(where, msg('api.v.target', { value: raw }));
  const h = s;
  return { count: 1, host: () => h, port };
}

function bounded(field: string, v: number | undefined, lim: { def: number; max: number }): number {
  return v === undefined ? lim.def : integer(field, v, 1, lim.max);
}

export class DiscoveryService {
  constructor(
    private readonly d: {
      instances: InstancesRepository;
      clock: Clock;
      audit: AuditService;
      /** Whether the API may start a discovery (WHALEFALL_DISCOVERY). */
      apiEnabled: boolean;
      probe?: typeof probeEndpoint;
    },
  ) {}

  /** Targets from a file: one entry per line, `#` comments. */
  static targetsFromFile(text: string): string[] {
    return text.split(/\r?\n/);
  }

  async discover(input: DiscoveryInput, actor: Actor): Promise<DiscoveryReport> {
    if (!Array.isArray(input.targets) || input.targets.length === 0) fail('targets', msg('api.v.targets_required'));
    const maxTargets = bounded('max_targets', input.max_targets, DISCOVERY_LIMITS.maxTargets);
    const rate = bounded('rate', input.rate, DISCOVERY_LIMITS.rate);
    const concurrency = bounded('concurrency', input.concurrency, DISCOVERY_LIMITS.concurrency);
    const timeoutMs = bounded('timeout_ms', input.timeout_ms, DISCOVERY_LIMITS.timeoutMs);
    const deadlineMs = bounded('deadline_ms', input.deadline_ms, DISCOVERY_LIMITS.deadlineMs);
    const ports = (input.ports ?? [5432, 3306]).map((p, i) => integer(`ports[${i}]`, p, 1, 65535));
    if (ports.length === 0 || ports.length > 64) fail('ports', msg('api.v.ports'));

    const entries: Entry[] = [];
    input.targets.forEach((t, i) => {
      if (typeof t !== 'string') fail(`targets[${i}]`, msg('api.v.string'));
      const e = parseTarget(t, input.targets.length > 1 ? `targets[${i}]` : 'targets');
      if (e) entries.push(e);
    });
    // Count before expanding anything: a /8 is refused, not enumerated.
    const total = entries.reduce((n, e) => n + e.count * (e.port === null ? ports.length : 1), 0);
    if (total === 0) fail('targets', msg('api.v.no_endpoint'));
    if (total > maxTargets) fail('targets', msg('api.v.too_many_endpoints', { total, max: maxTargets, limit: DISCOVERY_LIMITS.maxTargets.max }));
    const endpoints: { host: string; port: number }[] = [];
    const seen = new Set<string>();
    for (const e of entries) {
      for (let i = 0; i < e.count; i++) {
        for (const port of e.port === null ? ports : [e.port]) {
          const host = e.host(i);
          const key = `${host.toLowerCase()}:${port}`;
          if (!seen.has(key)) {
            seen.add(key);
            endpoints.push({ host, port });
          }
        }
      }
    }

    const registered = new Map((await this.d.instances.list()).map((r) => [`${r.host.toLowerCase()}:${r.port}`, r.name]));
    const probe = this.d.probe ?? probeEndpoint;
    const started = performance.now();
    const interval = 1000 / rate;
    let nextSlot = started;
    let probed = 0;
    const silent: Record<string, number> = {};
    const results = await mapLimit(endpoints, concurrency, async (ep): Promise<ProbeResult | undefined> => {
      // Rate: each connection takes the next slot; a slot past the deadline is not used.
      const slot = Math.max(nextSlot, performance.now());
      nextSlot = slot + interval;
      const remaining = started + deadlineMs - slot;
      if (remaining <= 0) return undefined;
      // A timer may fire a little early (the event loop's clock lags under load): wait out what is left of the slot.
      for (let wait = slot - performance.now(); wait > 0; wait = slot - performance.now()) await new Promise((r) => setTimeout(r, wait));
      probed++;
      const r = await probe(ep.host, ep.port, { timeoutMs: Math.min(timeoutMs, remaining) });
      if (r.kind === 'none') silent[r.reason] = (silent[r.reason] ?? 0) + 1;
      return r;
    });
    const found: DiscoveredEndpoint[] = [];
    results.forEach((r, i) => {
      if (!r || r.kind === 'none') return;
      const ep = endpoints[i]!;
      found.push({
        host: ep.host,
        port: ep.port,
        db_type: r.kind,
        server_version: r.server_version === null ? null : stripControl(r.server_version),
        note: 'note' in r && r.note ? r.note : null,
        registered_as: registered.get(`${ep.host.toLowerCase()}:${ep.port}`) ?? null,
      });
    });
    const names = new Set(registered.values());
    const today = this.d.clock.now().toISOString().slice(0, 10);
    const proposals: FleetItem[] = found
      .filter((f) => f.registered_as === null)
      .map((f) => {
        const base = `${f.db_type}-${f.host.replace(/[^A-Za-z0-9]+/g, '-')}-${f.port}`;
        let name = base;
        for (let n = 2; names.has(name); n++) name = `${base}-${n}`;
        names.add(name);
        return {
          name,
          db_type: f.db_type,
          host: f.host,
          port: f.port,
          database_name: null,
          credential: input.credential ?? null,
          is_active: true,
          description: `discovered ${today}${f.server_version ? ` (${f.server_version})` : ''}`,
          tags: ['discovered'],
          options: {},
        };
      });
    const report: DiscoveryReport = {
      targets: endpoints.length,
      probed,
      not_probed: endpoints.length - probed,
      elapsed_ms: Math.round(performance.now() - started),
      found,
      proposals,
      silent,
    };
    await this.d.audit.record(actor, {
      action: 'instance.discover',
      targetType: 'instance',
      details: { targets: input.targets.slice(0, 50), ports, endpoints: endpoints.length, probed, found: found.length, proposals: proposals.length },
    });
    return report;
  }

  /** The proposals as an import file. */
  static proposalsFile(report: DiscoveryReport, format: FleetFormat): string {
    return renderFleet(report.proposals, format);
  }

  /** For the API: refused unless WHALEFALL_DISCOVERY=on. */
  assertApiEnabled(): void {
    if (!this.d.apiEnabled) throw new AppError('forbidden', msg('api.discovery_disabled'), 'discovery_disabled');
  }
}
