/** The robot of each webhook channel type: the one switch on channel type. */
import { dingtalk } from './dingtalk.js';
import { feishuCard, feishuText } from './feishu.js';
import { generic } from './generic.js';
import type { Robot } from './robot.js';
import { slack } from './slack.js';
import { wecom } from './wecom.js';

export const ROBOTS = { generic, dingtalk, wecom, slack, feishu: feishuText, feishu_card: feishuCard } satisfies Record<string, Robot>;
export type WebhookChannel = keyof typeof ROBOTS;
