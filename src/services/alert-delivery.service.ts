/**
 * Sends alert transitions to webhooks. Delivery rows are queued by the store
 * in the same transaction as the transition (alerts.repository.ts); this
 * service only drains them: `deliverDue()` sends what is due, retries with
 * exponential backoff, and writes every attempt to the row's log.
 *
 * Webhook URLs carry their secrets in the query string (DingTalk
 * access_token, WeCom key) or the path (Slack): they are stored in full
 * because they are needed to send, but only ever shown or logged through
 * `maskUrl`.
 */
import type { Clock } from '../lib/clock.js';
import { errorMessage, scrubSecrets } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { DestinationPolicy, type NetworkPolicy } from '../lib/net-policy.js';
import { withTimeout } from '../lib/timeout.js';
import type { AlertDeliveryRow, AlertEventRow, AlertRuleRow, AlertsRepository } from '../store/alerts.repository.js';
import { ROBOTS } from './robots/index.js';
import { maskUrl } from './alerts/channel-url.js';
import type { AlertMessage, RobotVerdict } from './robots/robot.js';

export type { AlertMessage };

import type { ChannelType } from '../domain/alerts.js';
export { CHANNEL_TYPES, type ChannelType } from '../domain/alerts.js';

export interface DeliveryOptions {
  /** Attempts in all (first send included) before a delivery is marked failed. */
  maxAttempts: number;
  /** Delay before the 2nd attempt; doubles after each failure. */
  baseDelayMs: number;
  /** Per-request timeout. */
  timeoutMs: number;
  /** Networks webhooks may (not) reach; link-local and metadata addresses are always refused. */
  networks?: NetworkPolicy;
}

export const DEFAULT_DELIVERY_OPTIONS: DeliveryOptions = { maxAttempts: 5, baseDelayMs: 30_000, timeoutMs: 10_000 };

/** Rows handled per `deliverDue` pass; the loop continues while rows are due. */
const BATCH = 50;

export { maskUrl };

/** Every part of a URL that may be a secret, to scrub from error messages. */
function urlSecrets(url: string): string[] {
  try {
    const u = new URL(url);
    const out = [u.search.slice(1), u.password, ...[...u.searchParams.values()]];
    if (u.pathname.startsWith('/services/')) out.push(u.pathname.slice('/services/'.length));
    return out.filter((s) => s.length >= 4);
  } catch {
    return [url];
  }
}

export interface AttemptLog {
  attempt: number;
  at: string;
  http_status: number | null;
  error: string | null;
}

/** The facts a message is made of. */
export function alertMessage(ev: AlertEventRow, rule: Pick<AlertRuleRow, 'name' | 'kind'>, transition: 'firing' | 'resolved'): AlertMessage {
  return {
    current_value: transition === 'resolved' ? ev.value : null,
    event_id: ev.id,
    rule: rule.name,
    kind: rule.kind,
    state: transition,
    instance: ev.instance_name,
    database: ev.database_name,
    value: ev.value,
    message: ev.message,
    fired_at: ev.fired_at,
    resolved_at: transition === 'resolved' ? ev.resolved_at : null,
  };
}

/** The request body for one channel type (unsigned; see robots/ for signing). */
export function formatPayload(type: ChannelType, m: AlertMessage): unknown {
  return type === 'email' ? null : ROBOTS[type].request('http://x/', m, null, new Date(0)).body;
}

export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; redirect: 'manual'; signal: AbortSignal },
) => Promise<{ status: number; text(): Promise<string>; body?: { cancel(): Promise<void> } | null }>;

/** Sends the `email` channel (email.service.ts); set in the context when SMTP is configured. */
export interface AlertMailer {
  sendAlert(url: string, m: AlertMessage): Promise<void>;
}

/** At most 120 characters of a receiver's words, control characters removed. */
function excerpt(text: string): string {
  const clean = [...text]
    .map((ch) => (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f ? ' ' : ch))
    .join('')
    .trim();
  return clean.length > 120 ? `${clean.slice(0, 120)}…` : clean;
}

/**
 * What a non-admin sees of a delivery error: the HTTP status, or that it failed. The rest (the receiver's
 * words, the network error naming an internal address) would make the alert page a way to probe the
 * network behind Whalefall.
 */
export function viewerDeliveryError(error: string | null, httpStatus: number | null): string | null {
  if (error === null) return null;
  return httpStatus !== null ? `HTTP ${httpStatus}` : '投递失败，详情仅管理员可见 (delivery failed; details for admins only)';
}

export class AlertDeliveryService {
  mailer: AlertMailer | undefined;
  /** Reads a delivery's channel signing secret (set by the alerts service, which owns the key ring). */
  secrets: ((rule: AlertRuleRow, d: AlertDeliveryRow) => string | null) | undefined;
  /** Opens a delivery's stored (encrypted) URL; set by the alerts service. Unset: the stored value is the URL. */
  urls: ((stored: string) => string) | undefined;
  private running: Promise<DeliverySummary> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private opts: DeliveryOptions;

  constructor(
    private readonly repo: AlertsRepository,
    private readonly clock: Clock,
    private readonly logger: Logger,
    opts: Partial<DeliveryOptions> = {},
    private readonly fetchImpl: FetchLike = fetch,
  ) {
    this.opts = { ...DEFAULT_DELIVERY_OPTIONS, ...opts };
    this.destinations = new DestinationPolicy(this.opts.networks);
  }

  private readonly destinations: DestinationPolicy;

  /** Send every delivery due now. Concurrent calls share one pass (no double send within a process). */
  deliverDue(): Promise<DeliverySummary> {
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Poll for due deliveries (retries) every `intervalMs`; `serve` starts it, tests call deliverDue(). */
  start(intervalMs = 5_000): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.deliverDue().catch((err) => this.logger.error({ err }, 'alert delivery pass failed'));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  private async drain(): Promise<DeliverySummary> {
    const sum: DeliverySummary = { delivered: 0, failed: 0, retrying: 0 };
    const seen = new Set<number>();
    for (;;) {
      const due = (await this.repo.dueDeliveries(this.clock.now().toISOString(), BATCH)).filter((d) => !seen.has(d.id));
      if (!due.length) return sum;
      for (const d of due) {
        seen.add(d.id);
        const r = await this.attempt(d);
        if (r) sum[r] += 1;
      }
    }
  }

  /** One attempt of one delivery; undefined when another sender claimed it first. */
  private async attempt(d: AlertDeliveryRow): Promise<keyof DeliverySummary | undefined> {
    const now = this.clock.now();
    const lease = new Date(now.getTime() + this.opts.timeoutMs + 5_000).toISOString();
    if (!(await this.repo.claim(d.id, d.next_attempt_at, lease))) return undefined;
    const ev = await this.repo.getEvent(d.event_id);
    const rule = ev ? await this.repo.getRule(ev.rule_id) : undefined;
    const attempt = d.attempt + 1;
    const log = JSON.parse(d.log) as AttemptLog[];
    let httpStatus: number | null = null;
    let error: string | null = null;
    let permanent = false;
    let url: string | null = null;
    try {
      url = this.urls ? this.urls(d.url) : d.url;
    } catch {
      error = '无法解密 webhook URL (the webhook URL cannot be decrypted: was the secret key changed?)';
      permanent = true;
    }
    if (!ev || !rule) {
      error = 'event or rule deleted';
    } else if (url !== null) {
      const type = d.channel as ChannelType;
      const message = alertMessage(ev, rule, d.transition as 'firing' | 'resolved');
      const secret = type === 'email' ? null : this.secretOf(rule, d);
      let r: { httpStatus: number | null; error: string | null; permanent?: boolean };
      if (type === 'email') r = await this.mail(url, message);
      else r = await this.post(url, type, message, secret);
      ({ httpStatus, error } = r);
      permanent = r.permanent === true;
      // A receiver or a network error may echo the URL or the secret: never store or log them.
      if (error) error = scrubSecrets(error, [...urlSecrets(url), secret]).slice(0, 500);
    }
    const at = this.clock.now().toISOString();
    log.push({ attempt, at, http_status: httpStatus, error });
    let status: 'delivered' | 'failed' | 'pending';
    let next: string | null = null;
    if (!error) status = 'delivered';
    // A permanent refusal (bad signature, missing keyword, invalid token) fails the same way every time.
    else if (!ev || !rule || permanent || attempt >= this.opts.maxAttempts) status = 'failed';
    else {
      status = 'pending';
      next = new Date(this.clock.now().getTime() + this.opts.baseDelayMs * 2 ** (attempt - 1)).toISOString();
    }
    await this.repo.recordAttempt(d.id, { attempt, status, http_status: httpStatus, error, next_attempt_at: next, log: JSON.stringify(log), at });
    const fields = {
      delivery_id: d.id,
      event_id: d.event_id,
      channel: d.channel,
      url: url === null ? '(unreadable)' : maskUrl(url),
      attempt,
      http_status: httpStatus,
    };
    if (status === 'delivered') this.logger.info(fields, 'alert delivered');
    else
      this.logger.warn(
        { ...fields, error, next_attempt_at: next },
        status === 'failed' ? 'alert delivery failed for good' : 'alert delivery failed, will retry',
      );
    return status === 'pending' ? 'retrying' : status;
  }

  /** The channel's signing secret, decrypted; null when none is set or it cannot be read. */
  private secretOf(rule: AlertRuleRow, d: AlertDeliveryRow): string | null {
    if (!this.secrets) return null;
    try {
      return this.secrets(rule, d);
    } catch (err) {
      this.logger.warn({ err: errorMessage(err), delivery_id: d.id }, 'alert channel secret unreadable: sending unsigned');
      return null;
    }
  }

  /**
   * POST the robot's request; an error string unless the robot took it, and whether retrying could help.
   * Redirects are not followed (a 3xx is a failure: following it would let a receiver point us anywhere),
   * the destination's networks are checked first, and of a refusing receiver's words only a short excerpt
   * is kept — shown to admins only (`viewerDeliveryError`).
   */
  private async post(
    url: string,
    type: Exclude<ChannelType, 'email'>,
    m: AlertMessage,
    secret: string | null,
  ): Promise<{ httpStatus: number | null; error: string | null; permanent: boolean }> {
    const robot = ROBOTS[type];
    try {
      const req = robot.request(url, m, robot.signs ? secret : null, this.clock.now());
      const refused = await this.destinations.check(req.url);
      if (refused) return { httpStatus: null, error: refused, permanent: false };
      const res = await this.fetchImpl(req.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(req.body),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel();
        return { httpStatus: res.status, error: `HTTP ${res.status}: 不跟随重定向 (redirects are not followed)`, permanent: false };
      }
      const text = (await res.text()).slice(0, 2000);
      const v: RobotVerdict = robot.verdict(res.status, text);
      return v.ok ? { httpStatus: res.status, error: null, permanent: false } : { httpStatus: res.status, error: excerpt(v.message), permanent: v.permanent };
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      return { httpStatus: null, error: errorMessage(err) + (cause ? `: ${errorMessage(cause)}` : ''), permanent: false };
    }
  }

  /** The `email` channel: through the mailer (SMTP), bounded by the same timeout. */
  private async mail(url: string, m: AlertMessage): Promise<{ httpStatus: null; error: string | null }> {
    if (!this.mailer) return { httpStatus: null, error: 'SMTP 未配置 (WHALEFALL_SMTP_URL is not set)' };
    try {
      await withTimeout(this.mailer.sendAlert(url, m), this.opts.timeoutMs, 'SMTP');
      return { httpStatus: null, error: null };
    } catch (err) {
      return { httpStatus: null, error: errorMessage(err) };
    }
  }
}

export interface DeliverySummary {
  delivered: number;
  failed: number;
  retrying: number;
}
