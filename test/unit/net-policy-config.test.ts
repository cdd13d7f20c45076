/**
 * Two pieces of input checking with no I/O: the webhook destination policy (src/lib/net-policy.ts: CIDRs,
 * the always-denied metadata networks, IPv4-mapped IPv6, allow lists) and the environment's configuration
 * (src/config.ts loadConfig: defaults, bounds, on/off words, networks, cron, URLs), each mistake named.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { ALWAYS_DENIED, DestinationPolicy, parseCidr } from '../../src/lib/net-policy.js';

describe('parseCidr', () => {
  it('an address with or without a prefix, either family', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), ['10.0.0.0', 8, 'ipv4']);
    assert.deepEqual(parseCidr(' 192.168.1.7 '), ['192.168.1.7', 32, 'ipv4']);
    assert.deepEqual(parseCidr('fd00::/8'), ['fd00::', 8, 'ipv6']);
    assert.deepEqual(parseCidr('::1'), ['::1', 128, 'ipv6']);
    assert.deepEqual(parseCidr('0.0.0.0/0'), ['0.0.0.0', 0, 'ipv4']);
  });

  it('refuses a host name, a prefix out of range or not a whole number, in both languages', () => {
    assert.throws(() => parseCidr('example.com/24'), /不是网段 \(not a CIDR network/);
    assert.throws(() => parseCidr('10.0.0.0/33'), /前缀长度无效 \(bad prefix length\)/);
    assert.throws(() => parseCidr('fd00::/129'), /bad prefix length/);
    assert.throws(() => parseCidr('10.0.0.0/8.5'), /bad prefix length/);
    assert.throws(() => parseCidr('10.0.0.0/-1'), /bad prefix length/);
    assert.throws(() => parseCidr(''), /not a CIDR network/);
  });
});

describe('DestinationPolicy', () => {
  it('the metadata networks are denied whatever the configuration; loopback and private networks are not by default', () => {
    const p = new DestinationPolicy();
    for (const a of ['169.254.169.254', '169.254.0.1', 'fe80::1', '100.100.100.200', 'fd00:ec2::254']) assert.match(p.refusal(a) ?? '', /denied network/, a);
    for (const a of ['127.0.0.1', '10.1.2.3', '192.168.0.10', '::1', '8.8.8.8', '100.100.100.201']) assert.equal(p.refusal(a), undefined, a);
    assert.ok(ALWAYS_DENIED.every((c) => parseCidr(c)));
  });

  it('an IPv4-mapped IPv6 address is judged as the IPv4 address it is', () => {
    const p = new DestinationPolicy({ allow: [], deny: ['10.0.0.0/8'] });
    assert.match(p.refusal('::ffff:169.254.169.254') ?? '', /destination 169\.254\.169\.254 is in a denied network/);
    assert.match(p.refusal('::FFFF:10.9.9.9') ?? '', /denied/);
    assert.equal(p.refusal('::ffff:192.168.1.1'), undefined);
  });

  it('configured denials add to the fixed ones; an allow list keeps everything else out, denials still win inside it', () => {
    const deny = new DestinationPolicy({ allow: [], deny: ['10.66.0.0/16'] });
    assert.match(deny.refusal('10.66.1.2') ?? '', /denied/);
    assert.equal(deny.refusal('10.67.1.2'), undefined);
    const only = new DestinationPolicy({ allow: ['192.168.7.0/24', '169.254.0.0/16'], deny: ['192.168.7.128/25'] });
    assert.equal(only.refusal('192.168.7.9'), undefined);
    assert.match(only.refusal('192.168.7.200') ?? '', /denied/);
    assert.match(only.refusal('192.168.8.1') ?? '', /不在允许的网段内 \(destination 192\.168\.8\.1 is not in an allowed network\)/);
    assert.match(only.refusal('169.254.169.254') ?? '', /denied/, 'allowing the metadata network does not open it');
  });

  it('check: an address in the URL is judged without a lookup (brackets of IPv6 taken off); a bad URL is said so', async () => {
    const p = new DestinationPolicy();
    assert.match((await p.check('http://169.254.169.254/latest/meta-data/')) ?? '', /denied/);
    assert.match((await p.check('https://[fe80::1]:8443/hook')) ?? '', /denied/);
    assert.equal(await p.check('http://127.0.0.1:9000/hook'), undefined);
    assert.equal(await p.check('not a url'), '无效的 URL (invalid url)');
  });
});

describe('loadConfig', () => {
  const base = { WHALEFALL_TZ: 'UTC' };

  it('defaults for an empty environment; empty values count as unset', () => {
    const c = loadConfig({ ...base, PORT: '', WHALEFALL_SCHEDULER: '' });
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 3000);
    assert.equal(c.scheduler, true);
    assert.equal(c.queue, 'local');
    assert.equal(c.syncCron, '0 3 * * *');
    assert.equal(c.databaseUrl, undefined);
    assert.deepEqual(c.webhookAllowNetworks, []);
    assert.equal(c.trustProxy, undefined);
    assert.equal(c.dataDir, path.resolve('./data'));
  });

  it('integers within their bounds, or a message naming the variable, the bounds and the value', () => {
    assert.equal(loadConfig({ ...base, PORT: '0' }).port, 0);
    assert.equal(loadConfig({ ...base, PORT: '65535' }).port, 65535);
    assert.throws(
      () => loadConfig({ ...base, PORT: '65536' }),
      (e: unknown) => e instanceof ConfigError && e.message === 'PORT must be an integer between 0 and 65535, got "65536"',
    );
    assert.throws(() => loadConfig({ ...base, WHALEFALL_SYNC_RETRIES: '2.5' }), /WHALEFALL_SYNC_RETRIES must be an integer between 0 and 10, got "2\.5"/);
    assert.throws(() => loadConfig({ ...base, WHALEFALL_SYNC_CONCURRENCY: 'eight' }), /WHALEFALL_SYNC_CONCURRENCY .* got "eight"/);
  });

  it('on/off words in any case; anything else is refused', () => {
    for (const on of ['on', 'TRUE', '1', 'Yes']) assert.equal(loadConfig({ ...base, WHALEFALL_SCHEDULER: on }).scheduler, true, on);
    for (const off of ['off', 'False', '0', 'NO']) assert.equal(loadConfig({ ...base, WHALEFALL_SCHEDULER: off }).scheduler, false, off);
    assert.throws(() => loadConfig({ ...base, WHALEFALL_SCHEDULER: 'enabled' }), /WHALEFALL_SCHEDULER must be on or off, got "enabled"/);
  });

  it('network lists are split and trimmed; a bad entry names the variable and the entry', () => {
    const c = loadConfig({ ...base, WHALEFALL_WEBHOOK_DENY_NETWORKS: ' 10.0.0.0/8 ,, fd00::/8 ', WHALEFALL_TRUST_PROXY: '127.0.0.1, ::1,' });
    assert.deepEqual(c.webhookDenyNetworks, ['10.0.0.0/8', 'fd00::/8']);
    assert.deepEqual(c.trustProxy, ['127.0.0.1', '::1']);
    assert.throws(
      () => loadConfig({ ...base, WHALEFALL_WEBHOOK_ALLOW_NETWORKS: '10.0.0.0/8,intranet' }),
      /WHALEFALL_WEBHOOK_ALLOW_NETWORKS: "intranet" 不是网段/,
    );
  });

  it('cron, time zone, store URL, queue and SMTP URL are checked when read', () => {
    assert.throws(() => loadConfig({ ...base, WHALEFALL_SYNC_CRON: '* * *' }), /WHALEFALL_SYNC_CRON is not a valid cron expression: "\* \* \*"/);
    assert.throws(() => loadConfig({ WHALEFALL_TZ: 'Nowhere/Land' }), /WHALEFALL_TZ is not a known time zone: "Nowhere\/Land"/);
    assert.throws(() => loadConfig({ ...base, DATABASE_URL: 'mysql://x' }), /DATABASE_URL must start with postgres:\/\//);
    assert.equal(loadConfig({ ...base, DATABASE_URL: 'postgresql://u@h/db' }).databaseUrl, 'postgresql://u@h/db');
    assert.throws(() => loadConfig({ ...base, WHALEFALL_QUEUE: 'redis' }), /WHALEFALL_QUEUE must be local or pg-boss, got "redis"/);
    assert.throws(() => loadConfig({ ...base, WHALEFALL_SMTP_URL: 'mail.example.com:25' }), /WHALEFALL_SMTP_URL must look like smtp:\/\//);
    assert.equal(loadConfig({ ...base, WHALEFALL_SMTP_URL: 'smtps://mail.example.com:465' }).smtpUrl, 'smtps://mail.example.com:465');
  });

  it('the HTTP connection timeout follows the sync timeout unless set: a request may wait for the longest sync', () => {
    assert.equal(loadConfig(base).httpConnectionTimeoutMs, 300_000 + 60_000);
    assert.equal(loadConfig({ ...base, WHALEFALL_SYNC_TIMEOUT_MS: '10000' }).httpConnectionTimeoutMs, 70_000);
    assert.equal(loadConfig({ ...base, WHALEFALL_SYNC_TIMEOUT_MS: '10000', WHALEFALL_HTTP_CONNECTION_TIMEOUT_MS: '5000' }).httpConnectionTimeoutMs, 5_000);
  });
});
