/**
 * Email: alert transitions (the `email` channel of an alert rule, url
 * `mailto:ops@example.com?lang=en`, sent through the alert delivery queue
 * with its retries) and a daily capacity digest (top growers, new and
 * deleted databases, failed syncs) to WHALEFALL_DIGEST_RECIPIENTS at
 * WHALEFALL_DIGEST_CRON. Every message is HTML + plain text, in zh-CN or
 * English per recipient. SMTP is WHALEFALL_SMTP_URL; its password is never
 * logged (errors are scrubbed).
 */
import { Cron } from 'croner';
import type { Transporter } from 'nodemailer';
import { ConfigError, type Config } from '../config.js';
import { localDate, type Clock } from '../lib/clock.js';
import { errorMessage, scrubSecrets } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { PROCESS_TAG } from '../lib/process-tag.js';
import { formatBytes } from '../lib/sizes.js';
import type { DatabaseChange, DigestRepository, FailedSync, Grower } from '../store/digest.repository.js';
import type { SchedulerRepository } from '../store/scheduler.repository.js';
import type { AlertMessage } from './alert-delivery.service.js';

export const LANGS = ['zh-CN', 'en'] as const;
export type Lang = (typeof LANGS)[number];

export interface Recipient {
  address: string;
  lang: Lang;
}

export interface Mail {
  subject: string;
  text: string;
  html: string;
  attachments?: { filename: string; content: string }[];
}

const ADDRESS = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/;

function lang(v: string | null | undefined, where: string): Lang {
  if (v === null || v === undefined || v === '') return 'zh-CN';
  const found = LANGS.find((l) => l.toLowerCase() === v.toLowerCase());
  if (!found) throw new ConfigError(`${where}: language must be zh-CN or en, got "${v}"`);
  return found;
}

/** `a@x.com:en, b@y.cn:zh-CN, c@z.org` → recipients (language zh-CN unless given). */
export function parseRecipients(list: string | undefined): Recipient[] {
  if (!list) return [];
  return list
    .split(/[,;\s]+/)
    .filter(Boolean)
    .map((item) => {
      const m = /^(.+?)(?::([A-Za-z-]+))?$/.exec(item)!;
      const address = m[1]!;
      if (!ADDRESS.test(address)) throw new ConfigError(`WHALEFALL_DIGEST_RECIPIENTS: "${address}" is not an email address`);
      return { address, lang: lang(m[2], 'WHALEFALL_DIGEST_RECIPIENTS') };
    });
}

/** `mailto:ops@example.com?lang=en` → recipient; throws a plain Error for the rule validator to word. */
export function mailtoRecipient(url: string): Recipient {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('not a mailto: URL');
  }
  const address = decodeURIComponent(u.pathname);
  if (u.protocol !== 'mailto:' || !ADDRESS.test(address)) throw new Error('must be mailto:address[?lang=en|zh-CN]');
  for (const k of u.searchParams.keys()) if (k !== 'lang') throw new Error(`unknown parameter "${k}" (only lang)`);
  try {
    return { address, lang: lang(u.searchParams.get('lang'), 'lang') };
  } catch (err) {
    throw new Error((err as Error).message);
  }
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const T = {
  'zh-CN': {
    firing: '告警',
    resolved: '恢复',
    rule: '规则',
    instance: '实例',
    database: '数据库',
    value: '数值',
    firedAt: '触发时间',
    resolvedAt: '恢复时间',
    digest: (day: string) => `鲸落容量日报 ${day}`,
    growers: '增长最多的实例',
    from: '前一日',
    to: '当日',
    growth: '增长',
    newDbs: '新增数据库',
    deletedDbs: '已删除的数据库',
    failures: '同步失败',
    error: '错误',
    none: '无',
    footer: '此邮件由鲸落 (Whalefall) 自动发送。',
  },
  en: {
    firing: 'FIRING',
    resolved: 'RESOLVED',
    rule: 'Rule',
    instance: 'Instance',
    database: 'Database',
    value: 'Value',
    firedAt: 'Fired at',
    resolvedAt: 'Resolved at',
    digest: (day: string) => `Whalefall capacity digest ${day}`,
    growers: 'Top growing instances',
    from: 'Previous day',
    to: 'Day',
    growth: 'Growth',
    newDbs: 'New databases',
    deletedDbs: 'Deleted databases',
    failures: 'Failed syncs',
    error: 'Error',
    none: 'none',
    footer: 'Sent automatically by Whalefall (鲸落).',
  },
} satisfies Record<Lang, unknown>;

/** One alert transition as an email. */
export function renderAlert(m: AlertMessage, l: Lang): Mail {
  const t = T[l];
  const state = m.state === 'firing' ? t.firing : t.resolved;
  const subject = `[${l === 'en' ? 'Whalefall' : '鲸落'} ${state}] ${m.rule}${m.instance ? ` — ${m.instance}` : ''}`;
  const rows: [string, string][] = [[t.rule, `${m.rule} (${m.kind})`]];
  if (m.instance) rows.push([t.instance, m.instance]);
  if (m.database) rows.push([t.database, m.database]);
  if (m.value !== null) rows.push([t.value, String(m.value)]);
  rows.push([t.firedAt, m.fired_at]);
  if (m.resolved_at) rows.push([t.resolvedAt, m.resolved_at]);
  const text = [subject, '', m.message, '', ...rows.map(([k, v]) => `${k}: ${v}`), '', t.footer].join('\n');
  const html =
    `<!doctype html><html lang="${l}"><body style="font-family:sans-serif">` +
    `<h2 style="color:${m.state === 'firing' ? '#b42318' : '#027a48'}">${esc(subject)}</h2><p>${esc(m.message)}</p>` +
    `<table cellpadding="4">${rows.map(([k, v]) => `<tr><th align="left">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>` +
    `<p style="color:#667085">${esc(t.footer)}</p></body></html>`;
  return { subject, text, html };
}

export interface Digest {
  day: string;
  previous_day: string;
  growers: Grower[];
  new_databases: DatabaseChange[];
  deleted_databases: DatabaseChange[];
  failures: FailedSync[];
}

/** The daily digest as an email. */
export function renderDigest(d: Digest, l: Lang): Mail {
  const t = T[l];
  const subject = t.digest(d.day);
  const sections: { title: string; head: string[]; rows: string[][] }[] = [
    {
      title: t.growers,
      head: [t.instance, t.from, t.to, t.growth],
      rows: d.growers.map((g) => [g.instance_name, formatBytes(g.from_bytes), formatBytes(g.to_bytes), `+${formatBytes(g.delta_bytes)}`]),
    },
    { title: t.newDbs, head: [t.instance, t.database], rows: d.new_databases.map((x) => [x.instance_name, x.database_name]) },
    { title: t.deletedDbs, head: [t.instance, t.database], rows: d.deleted_databases.map((x) => [x.instance_name, x.database_name]) },
    { title: t.failures, head: [t.instance, t.error], rows: d.failures.map((f) => [f.instance_name, `[${f.error_code ?? '?'}] ${f.error_message ?? ''}`]) },
  ];
  const text = [
    subject,
    `${d.previous_day} → ${d.day}`,
    ...sections.flatMap((s) => ['', `## ${s.title} (${s.rows.length})`, ...(s.rows.length ? s.rows.map((r) => `- ${r.join(' | ')}`) : [`- ${t.none}`])]),
    '',
    t.footer,
  ].join('\n');
  const table = (s: (typeof sections)[number]) =>
    s.rows.length
      ? `<table border="1" cellpadding="4" style="border-collapse:collapse"><tr>${s.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${s.rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</table>`
      : `<p>${esc(t.none)}</p>`;
  const html =
    `<!doctype html><html lang="${l}"><body style="font-family:sans-serif"><h2>${esc(subject)}</h2><p>${esc(d.previous_day)} → ${esc(d.day)}</p>` +
    sections.map((s) => `<h3>${esc(s.title)} (${s.rows.length})</h3>${table(s)}`).join('') +
    `<p style="color:#667085">${esc(t.footer)}</p></body></html>`;
  return { subject, text, html };
}

export interface EmailDeps {
  config: Pick<Config, 'smtpUrl' | 'smtpFrom' | 'digestRecipients' | 'digestCron' | 'timeZone'>;
  repo: DigestRepository;
  runs: SchedulerRepository;
  clock: Clock;
  logger: Logger;
  /** The monthly capacity report (capacity-report.service.ts), mailed on the 1st. */
  report?: { lastMonth(now?: Date): string; mail(month: string, lang: Lang): Promise<Mail & { attachments?: { filename: string; content: string }[] }> };
}

export class EmailService {
  private transport: Transporter | undefined;
  private cron: Cron | undefined;
  private inFlight: Promise<unknown> | undefined;
  readonly recipients: Recipient[];

  constructor(private readonly d: EmailDeps) {
    this.recipients = parseRecipients(d.config.digestRecipients);
  }

  get configured(): boolean {
    return Boolean(this.d.config.smtpUrl);
  }

  /** Send one message; errors come out with the SMTP password scrubbed. */
  async send(to: Recipient, mail: Mail): Promise<void> {
    if (!this.d.config.smtpUrl) throw new Error('SMTP 未配置 (WHALEFALL_SMTP_URL is not set)');
    // Loaded with the first mail, not at start (~3 MB of heap a serve without SMTP never needs).
    const { default: nodemailer } = await import('nodemailer');
    this.transport ??= nodemailer.createTransport(this.d.config.smtpUrl);
    try {
      await this.transport.sendMail({
        from: this.d.config.smtpFrom,
        to: to.address,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        attachments: mail.attachments,
        headers: { 'Content-Language': to.lang },
      });
    } catch (err) {
      let pw = '';
      try {
        pw = decodeURIComponent(new URL(this.d.config.smtpUrl).password);
      } catch {
        /* nothing to scrub */
      }
      throw new Error(scrubSecrets(errorMessage(err), [pw]));
    }
  }

  /** The alert delivery queue's email channel. */
  async sendAlert(url: string, m: AlertMessage): Promise<void> {
    const to = mailtoRecipient(url);
    await this.send(to, renderAlert(m, to.lang));
  }

  /** The digest of the day of `now` (WHALEFALL_TZ) against the day before. */
  async buildDigest(now: Date): Promise<Digest> {
    const day = localDate(now, this.d.config.timeZone);
    const previous = localDate(new Date(now.getTime() - 86_400_000), this.d.config.timeZone);
    const since = new Date(now.getTime() - 86_400_000).toISOString();
    const [growers, newDbs, deleted, failures] = await Promise.all([
      this.d.repo.topGrowers(previous, day, 10),
      this.d.repo.newDatabases(previous, day, 50),
      this.d.repo.deletedDatabases(since, 50),
      this.d.repo.failedSyncs(since, 50),
    ]);
    return { day, previous_day: previous, growers, new_databases: newDbs, deleted_databases: deleted, failures };
  }

  /** Send the digest to every recipient; returns how many were sent (a failed one is logged, the others still go). */
  async sendDigest(now: Date): Promise<{ sent: number; failed: number }> {
    const digest = await this.buildDigest(now);
    let sent = 0;
    let failed = 0;
    for (const r of this.recipients) {
      try {
        await this.send(r, renderDigest(digest, r.lang));
        sent++;
      } catch (err) {
        failed++;
        this.d.logger.warn({ to: r.address, error: errorMessage(err) }, 'digest email failed');
      }
    }
    this.d.logger.info({ day: digest.day, sent, failed }, 'capacity digest sent');
    return { sent, failed };
  }

  /** The monthly report for the month before `now` to every recipient, each in their language. */
  async sendMonthlyReport(now: Date): Promise<{ sent: number; failed: number; month: string }> {
    if (!this.d.report) throw new Error('no report service');
    const month = this.d.report.lastMonth(now);
    let sent = 0;
    let failed = 0;
    for (const r of this.recipients) {
      try {
        await this.send(r, await this.d.report.mail(month, r.lang));
        sent++;
      } catch (err) {
        failed++;
        this.d.logger.warn({ to: r.address, error: errorMessage(err) }, 'monthly report email failed');
      }
    }
    this.d.logger.info({ month, sent, failed }, 'monthly capacity report sent');
    return { sent, failed, month };
  }

  /**
   * One tick of the digest schedule: the day's digest, and on the 1st
   * (WHALEFALL_TZ) the monthly report for the month just ended. Each is
   * claimed in scheduler_runs, so one process sends it once.
   */
  async tick(at: Date): Promise<void> {
    const day = localDate(at, this.d.config.timeZone);
    const jobs: [string, string, () => Promise<{ sent: number; failed: number }>][] = [['email_digest', day, () => this.sendDigest(at)]];
    if (day.endsWith('-01') && this.d.report) jobs.push(['email_monthly_report', day, () => this.sendMonthlyReport(at)]);
    for (const [job, key, run] of jobs) {
      const claim = await this.d.runs.claim(job, key, PROCESS_TAG, at.toISOString()).catch(() => undefined);
      if (claim === undefined) continue;
      await run().then(
        (r) =>
          this.d.runs.finish(claim, {
            status: r.failed && !r.sent ? 'failed' : 'completed',
            at: this.d.clock.now().toISOString(),
            message: `sent ${r.sent}, failed ${r.failed}`,
          }),
        (err) => this.d.runs.finish(claim, { status: 'failed', at: this.d.clock.now().toISOString(), message: errorMessage(err) }),
      );
    }
  }

  /** Schedule the daily digest (and the monthly report on the 1st) when SMTP and recipients are set. */
  start(): void {
    if (this.cron || !this.configured || !this.recipients.length) return;
    this.cron = new Cron(this.d.config.digestCron, { timezone: this.d.config.timeZone, protect: true }, async () => {
      this.inFlight = this.tick(this.d.clock.now()).catch((err) => this.d.logger.warn({ error: errorMessage(err) }, 'email tick failed'));
      await this.inFlight;
    });
  }

  async stop(): Promise<void> {
    this.cron?.stop();
    this.cron = undefined;
    await this.inFlight;
    this.transport?.close();
    this.transport = undefined;
  }
}
