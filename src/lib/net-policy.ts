/**
 * Which networks an outbound webhook may reach. A webhook URL is typed by an admin but its receiver's answer
 * used to be shown to viewers, and redirects were followed: together a way to read internal services (SSRF).
 * Denied always: link-local (169.254.0.0/16, fe80::/10, which holds the cloud metadata address
 * 169.254.169.254) and the other well-known metadata addresses; the operator can deny more, or allow only
 * some networks. Loopback and private networks stay allowed by default (a self-hosted chat robot is often
 * on one).
 *
 * The check resolves the host name just before the request; a name that resolves differently a moment later
 * (DNS rebinding) is not caught — deny by network at the firewall too when that matters.
 */
import dns from 'node:dns/promises';
import net from 'node:net';

export const ALWAYS_DENIED = ['169.254.0.0/16', 'fe80::/10', '100.100.100.200/32', 'fd00:ec2::254/128'];

export interface NetworkPolicy {
  /** CIDRs a destination must be in (empty: any not denied). */
  allow: string[];
  /** CIDRs refused on top of ALWAYS_DENIED. */
  deny: string[];
}

/** `10.0.0.0/8` → [address, prefix, family]; throws on anything else. */
export function parseCidr(cidr: string): [string, number, 'ipv4' | 'ipv6'] {
  const [addr, bits] = cidr.trim().split('/');
  const family = net.isIP(addr ?? '');
  if (!family) throw new Error(`"${cidr}" 不是网段 (not a CIDR network, e.g. 10.0.0.0/8)`);
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new Error(`"${cidr}" 的前缀长度无效 (bad prefix length)`);
  return [addr!, prefix, family === 4 ? 'ipv4' : 'ipv6'];
}

function blockList(cidrs: string[]): net.BlockList {
  const list = new net.BlockList();
  for (const c of cidrs) {
    const [addr, prefix, type] = parseCidr(c);
    list.addSubnet(addr, prefix, type);
  }
  return list;
}

export class DestinationPolicy {
  private readonly denied: net.BlockList;
  private readonly allowed: net.BlockList | undefined;

  constructor(policy: NetworkPolicy = { allow: [], deny: [] }) {
    this.denied = blockList([...ALWAYS_DENIED, ...policy.deny]);
    this.allowed = policy.allow.length ? blockList(policy.allow) : undefined;
  }

  /** Why `address` may not be reached, or undefined when it may. */
  refusal(address: string): string | undefined {
    const type: net.IPVersion = net.isIP(address) === 6 ? 'ipv6' : 'ipv4';
    // An IPv4-mapped IPv6 address (::ffff:169.254.169.254) is judged as the IPv4 address it is.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const [a, t]: [string, net.IPVersion] = mapped ? [mapped, 'ipv4'] : [address, type];
    if (this.denied.check(a, t)) return `目标地址 ${a} 在禁止的网段内 (destination ${a} is in a denied network)`;
    if (this.allowed && !this.allowed.check(a, t)) return `目标地址 ${a} 不在允许的网段内 (destination ${a} is not in an allowed network)`;
    return undefined;
  }

  /** Resolve the URL's host; a refusal message when any of its addresses may not be reached. */
  async check(url: string): Promise<string | undefined> {
    let host: string;
    try {
      host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    } catch {
      return '无效的 URL (invalid url)';
    }
    const addresses = net.isIP(host) ? [host] : (await dns.lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    for (const a of addresses) {
      const why = this.refusal(a);
      if (why) return why;
    }
    return undefined;
  }
}
