/**
 * DingTalk custom robot. 加签 (signing), per DingTalk's documentation:
 * string_to_sign = timestamp + "\n" + secret (timestamp in milliseconds),
 * sign = Base64(HMAC-SHA256(key = secret, string_to_sign)), URL-encoded,
 * appended to the webhook URL as `&timestamp=…&sign=…`. The robot refuses a
 * timestamp more than an hour off.
 *
 * Answers: HTTP 200 `{errcode, errmsg}`. 310000 (keyword missing, bad
 * signature, IP not allowed), 300001/300005 (token) and 40035 (bad
 * parameters) are permanent; 130101 (sending too fast) and -1 (system busy)
 * are retried.
 */
import { createHmac } from 'node:crypto';
import { codeVerdict, headline, markdownBody, type Robot } from './robot.js';

const TRANSIENT = new Set([130101, -1]);

export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

export const dingtalk: Robot = {
  signs: true,
  request(url, m, secret, now) {
    const body = { msgtype: 'markdown', markdown: { title: headline(m), text: markdownBody(m) } };
    if (!secret) return { url, body };
    const timestamp = now.getTime();
    const u = new URL(url);
    u.searchParams.set('timestamp', String(timestamp));
    u.searchParams.set('sign', dingtalkSign(secret, timestamp));
    return { url: u.toString(), body };
  },
  verdict: (status, body) => codeVerdict(status, body, 'errcode', 'errmsg', TRANSIENT),
};
