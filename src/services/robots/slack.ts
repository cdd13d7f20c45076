/**
 * Slack incoming webhook. Text is escaped per Slack's rules: `&` → `&amp;`,
 * `<` → `&lt;`, `>` → `&gt;` (nothing else), so a database named `<!channel>`
 * cannot ping a channel or forge a link. Answers: 200 `ok`; 4xx with a reason
 * (`invalid_token`, `no_service`, `channel_is_archived`…) permanent; 429 and
 * 5xx retried.
 */
import { headline, lines, statusVerdict, type Robot } from './robot.js';

export function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export const slack: Robot = {
  signs: false,
  request: (url, m) => ({ url, body: { text: [`*${slackEscape(headline(m))}*`, ...lines(m).map(slackEscape)].join('\n') } }),
  verdict: statusVerdict,
};
