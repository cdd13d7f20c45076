/**
 * Chat robots and webhooks, one module per channel (dingtalk.ts, feishu.ts,
 * wecom.ts, slack.ts, generic.ts): how a message is shaped and signed, and
 * what the receiver's answer means. alert-delivery.service.ts only sends.
 *
 * A robot's answer is parsed: DingTalk, Feishu and WeCom say HTTP 200 with an
 * error code in the body. Permanent errors (bad signature, keyword missing,
 * invalid token) will fail the same way on every retry: the delivery fails at
 * once with the robot's own message. Transient ones (rate limit, 5xx,
 * network) are retried with backoff.
 */

/** What a channel delivers about one alert transition. */
export interface AlertMessage {
  event_id: number;
  rule: string;
  kind: string;
  state: 'firing' | 'resolved';
  instance: string | null;
  database: string | null;
  value: number | null;
  /** Resolved: the value when it recovered (the event's value is updated at resolution). */
  current_value?: number | null;
  message: string;
  fired_at: string;
  resolved_at: string | null;
}

export interface RobotRequest {
  url: string;
  body: unknown;
}

export type RobotVerdict = { ok: true } | { ok: false; permanent: boolean; message: string };

export interface Robot {
  /** The channel takes an optional signing secret (加签). */
  signs: boolean;
  /** The request for one message; `secret` only for robots that sign, `now` for the signature's timestamp. */
  request(url: string, m: AlertMessage, secret: string | null, now: Date): RobotRequest;
  verdict(status: number, body: string): RobotVerdict;
}

/** HTTP status alone: 2xx ok; 408, 429 and 5xx transient; any other 4xx permanent. */
export function statusVerdict(status: number, body: string): RobotVerdict {
  if (status >= 200 && status < 300) return { ok: true };
  const detail = body ? `: ${body.slice(0, 200)}` : '';
  return { ok: false, permanent: status >= 400 && status < 500 && status !== 408 && status !== 429, message: `HTTP ${status}${detail}` };
}

/** `{<codeField>: N, <msgField>: "…"}` bodies: 0 is success, `transient` lists the codes worth a retry. */
export function codeVerdict(status: number, body: string, codeField: string, msgField: string, transient: ReadonlySet<number>): RobotVerdict {
  const byStatus = statusVerdict(status, body);
  if (!byStatus.ok) return byStatus;
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return { ok: true }; // not JSON: trust the status
  }
  const code = j[codeField];
  if (typeof code !== 'number' || code === 0) return { ok: true };
  const msg = typeof j[msgField] === 'string' ? j[msgField].slice(0, 200) : '';
  return { ok: false, permanent: !transient.has(code), message: `${codeField} ${code}${msg ? `: ${msg}` : ''}` };
}

function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(2)} ${units[i]}`;
}

/** A rule's value in its unit (bytes, %, days). */
export function formatValue(kind: string, v: number | null): string {
  if (v === null) return '—';
  if (kind === 'growth_pct') return `${v.toFixed(2)} %`;
  if (kind === 'days_until_full') return `${v.toFixed(1)} 天 (days)`;
  if (kind === 'sync_failing') return `${v} 次 (times)`;
  return fmtBytes(v);
}

export function headline(m: AlertMessage): string {
  const tag = m.state === 'firing' ? '告警 FIRING' : '恢复 RESOLVED';
  return `[鲸落 ${tag}] ${m.rule}`;
}

/** What the message says, as lines: firing states the condition; resolved says what recovered and the value now. */
export function lines(m: AlertMessage): string[] {
  const where = [m.instance ? `实例 (instance) ${m.instance}` : null, m.database ? `数据库 (database) ${m.database}` : null].filter(Boolean).join(', ');
  const out: string[] = [];
  if (m.state === 'firing') {
    out.push(m.message);
  } else {
    out.push(`已恢复 (recovered): ${where || m.rule} 不再满足规则 ${m.rule} (${m.kind}) 的条件 (the condition no longer holds)`);
    out.push(`当前值 (current value): ${formatValue(m.kind, m.current_value ?? null)}`);
    out.push(`触发时 (when it fired): ${m.message}`);
  }
  if (m.instance) out.push(`实例 (instance): ${m.instance}`);
  if (m.database) out.push(`数据库 (database): ${m.database}`);
  out.push(`触发时间 (fired at): ${m.fired_at}`);
  if (m.resolved_at) out.push(`恢复时间 (resolved at): ${m.resolved_at}`);
  return out;
}

export function markdownBody(m: AlertMessage): string {
  return [`### ${headline(m)}`, '', ...lines(m).map((l) => `- ${l}`)].join('\n');
}

export function plainBody(m: AlertMessage): string {
  return [headline(m), ...lines(m)].join('\n');
}
