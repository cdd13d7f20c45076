/**
 * WeCom (企业微信) group robot: markdown, no signing (the key is in the URL).
 * Answers HTTP 200 `{errcode, errmsg}`: 45009 (frequency limit) and -1
 * (system busy) are retried; 93000 (invalid webhook), 40008 and others are
 * permanent.
 */
import { codeVerdict, markdownBody, type Robot } from './robot.js';

const TRANSIENT = new Set([45009, -1]);

export const wecom: Robot = {
  signs: false,
  request: (url, m) => ({ url, body: { msgtype: 'markdown', markdown: { content: markdownBody(m) } } }),
  verdict: (status, body) => codeVerdict(status, body, 'errcode', 'errmsg', TRANSIENT),
};
