/**
 * An alert event's message, both ways: by key for screens (the UI renders `message_key` + `message_params`
 * in the user's language) and as one bilingual text for notifications, emails and exports (Chinese first,
 * the English in brackets, as every notification reads).
 */
import type { AlertEventRow } from '../../store/alerts.repository.js';
import { msgText, parseStoredMsg, type Msg } from '../../client/shared/i18n/index.js';

export function bilingualText(m: Msg): string {
  const zh = msgText(m, 'zh-CN');
  const en = msgText(m, 'en');
  return zh === en ? zh : `${zh} (${en})`;
}

/** An event as the API shows it: its message by key (null on events stored before 0026), no internal columns. */
export function publicEvent<E extends AlertEventRow>(ev: E) {
  const { open_key: _o, message_msg, ...rest } = ev;
  const m = parseStoredMsg(message_msg);
  return { ...rest, message_key: m?.key ?? null, message_params: m?.params ?? null };
}
