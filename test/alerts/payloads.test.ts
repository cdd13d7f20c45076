import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPayload, maskUrl, type AlertMessage } from '../../src/services/alert-delivery.service.js';

const firing: AlertMessage = {
  event_id: 7,
  rule: 'big',
  kind: 'size_above',
  state: 'firing',
  instance: 'pg-prod',
  database: 'orders',
  value: 123,
  message: '实例 pg-prod 数据库 orders 容量 123 B 超过阈值 100 B',
  fired_at: '2025-01-02T03:04:05.000Z',
  resolved_at: null,
};
const resolved: AlertMessage = { ...firing, state: 'resolved', resolved_at: '2025-01-03T00:00:00.000Z' };

test('generic JSON carries every field', () => {
  assert.deepEqual(formatPayload('generic', resolved), {
    event: 7,
    rule: 'big',
    kind: 'size_above',
    state: 'resolved',
    instance: 'pg-prod',
    database: 'orders',
    value: 123,
    message: firing.message,
    fired_at: '2025-01-02T03:04:05.000Z',
    resolved_at: '2025-01-03T00:00:00.000Z',
  });
});

test('DingTalk: markdown with title and text', () => {
  const p = formatPayload('dingtalk', firing) as { msgtype: string; markdown: { title: string; text: string } };
  assert.equal(p.msgtype, 'markdown');
  assert.deepEqual(Object.keys(p.markdown).sort(), ['text', 'title']);
  assert.match(p.markdown.title, /FIRING.*big/);
  assert.match(p.markdown.text, /pg-prod/);
  assert.match(p.markdown.text, /orders/);
});

test('WeCom: markdown with content only', () => {
  const p = formatPayload('wecom', resolved) as { msgtype: string; markdown: { content: string } };
  assert.equal(p.msgtype, 'markdown');
  assert.deepEqual(Object.keys(p.markdown), ['content']);
  assert.match(p.markdown.content, /RESOLVED/);
  assert.match(p.markdown.content, /2025-01-03/);
});

test('Slack: a single text field', () => {
  const p = formatPayload('slack', firing) as Record<string, unknown>;
  assert.deepEqual(Object.keys(p), ['text']);
  assert.match(p.text as string, /FIRING/);
  assert.match(p.text as string, /orders/);
});

test('maskUrl hides query strings, Slack path secrets and userinfo', () => {
  assert.equal(maskUrl('https://oapi.dingtalk.com/robot/send?access_token=abc'), 'https://oapi.dingtalk.com/robot/send?***');
  assert.equal(maskUrl('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k'), 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?***');
  assert.equal(maskUrl('https://hooks.slack.com/services/T0/B0/XYZ'), 'https://hooks.slack.com/services/***');
  assert.equal(maskUrl('https://user:pw@example.com/hook'), 'https://example.com/hook');
  assert.equal(maskUrl('http://example.com:8080/a'), 'http://example.com:8080/a');
});
