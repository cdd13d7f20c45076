/**
 * Feishu (飞书) custom bot. Signing, per Feishu's documentation:
 * string_to_sign = timestamp + "\n" + secret (timestamp in SECONDS), and
 * sign = Base64(HMAC-SHA256(key = string_to_sign, message = "")) — the key is
 * the string, the message empty (unlike DingTalk). Both go in the JSON body
 * next to `msg_type`.
 *
 * Messages: channel `feishu` sends `text`; channel `feishu_card` an
 * `interactive` card (header red when firing, green when resolved). Answers: HTTP 200 `{code, msg}` (older bots `{StatusCode,
 * StatusMessage}`); 19021 (bad signature / timestamp), 19024 (keyword
 * missing), 19022 (IP not allowed), 19001/9499 (bad token or request) are
 * permanent; 11232 (frequency limit) is retried.
 */
import { createHmac } from 'node:crypto';
import { codeVerdict, headline, lines, plainBody, type AlertMessage, type Robot } from './robot.js';

const TRANSIENT = new Set([11232]);

export function feishuSign(secret: string, timestampSec: number): string {
  return createHmac('sha256', `${timestampSec}\n${secret}`).update('').digest('base64');
}

function card(m: AlertMessage) {
  return {
    msg_type: 'interactive',
    card: {
      header: { template: m.state === 'firing' ? 'red' : 'green', title: { tag: 'plain_text', content: headline(m) } },
      elements: [
        {
          tag: 'div',
          text: {
            tag: 'lark_md',
            content: lines(m)
              .map((l) => `- ${l}`)
              .join('\n'),
          },
        },
      ],
    },
  };
}

export const feishuText: Robot = feishuRobot(false);
export const feishuCard: Robot = feishuRobot(true);

function feishuRobot(interactive: boolean): Robot {
  return {
    signs: true,
    request(url, m, secret, now) {
      const message = interactive ? card(m) : { msg_type: 'text', content: { text: plainBody(m) } };
      if (!secret) return { url, body: message };
      const timestamp = Math.floor(now.getTime() / 1000);
      return { url, body: { timestamp: String(timestamp), sign: feishuSign(secret, timestamp), ...message } };
    },
    verdict(status, body) {
      const v = codeVerdict(status, body, 'code', 'msg', TRANSIENT);
      return v.ok ? codeVerdict(status, body, 'StatusCode', 'StatusMessage', TRANSIENT) : v;
    },
  };
}
