import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPayload, maskUrl, type AlertMessage } from '../../src/services/alert-delivery.service.js';
import { ROBOTS } from '../../src/services/robots/index.js';

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
const resolved: AlertMessage = { ...firing, state: 'resolved', current_value: 90, resolved_at: '2025-01-03T00:00:00.000Z' };

test('generic JSON carries every field', () => {
  assert.deepEqual(formatPayload('generic', resolved), {
    event: 7,
    rule: 'big',
    kind: 'size_above',
    state: 'resolved',
    instance: 'pg-prod',
    database: 'orders',
    value: 123,
    current_value: 90,
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

test('resolved: says what recovered and the value now, not the firing text alone', () => {
  for (const type of ['dingtalk', 'wecom', 'slack', 'feishu'] as const) {
    const text = JSON.stringify(formatPayload(type, resolved));
    assert.match(text, /已恢复 \(recovered\): 实例 \(instance\) pg-prod, 数据库 \(database\) orders/, type);
    assert.match(text, /当前值 \(current value\): 90 B/, type);
    assert.doesNotMatch(JSON.stringify(formatPayload(type, firing)), /recovered/, type);
  }
});

test('Slack: &, < and > escaped per Slack (no <!channel> ping, no forged link)', () => {
  const hostile: AlertMessage = { ...firing, database: '<!channel> & <http://evil|click>', message: 'a < b > c & d' };
  const text = (formatPayload('slack', hostile) as { text: string }).text;
  assert.doesNotMatch(text, /[<>]/);
  assert.match(text, /&lt;!channel&gt; &amp; &lt;http:\/\/evil\|click&gt;/);
  assert.match(text, /a &lt; b &gt; c &amp; d/);
});

test('robot answers: permanent errors fail at once, transient ones retry', () => {
  const v = (type: keyof typeof ROBOTS, status: number, body: string) => ROBOTS[type].verdict(status, body);
  assert.deepEqual(v('dingtalk', 200, '{"errcode":0,"errmsg":"ok"}'), { ok: true });
  assert.deepEqual(v('dingtalk', 200, '{"errcode":310000,"errmsg":"keywords not in content"}'), {
    ok: false,
    permanent: true,
    message: 'errcode 310000: keywords not in content',
  });
  assert.deepEqual(v('dingtalk', 200, '{"errcode":130101,"errmsg":"send too fast"}'), {
    ok: false,
    permanent: false,
    message: 'errcode 130101: send too fast',
  });
  assert.deepEqual(v('feishu', 200, '{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}').ok, false);
  assert.equal((v('feishu', 200, '{"code":19021,"msg":"x"}') as { permanent: boolean }).permanent, true);
  assert.equal((v('feishu', 200, '{"code":11232,"msg":"frequency limited"}') as { permanent: boolean }).permanent, false);
  assert.deepEqual(v('feishu', 200, '{"StatusCode":0,"StatusMessage":"success"}'), { ok: true });
  assert.equal((v('wecom', 200, '{"errcode":93000,"errmsg":"invalid webhook url"}') as { permanent: boolean }).permanent, true);
  assert.equal((v('slack', 403, 'invalid_token') as { permanent: boolean }).permanent, true);
  assert.equal((v('slack', 429, 'rate_limited') as { permanent: boolean }).permanent, false);
  assert.equal((v('generic', 503, '') as { permanent: boolean }).permanent, false);
});
