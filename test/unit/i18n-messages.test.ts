import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { COMMON_MESSAGES } from '../../src/client/shared/i18n/messages/common.js';
import { INSTANCES_MESSAGES } from '../../src/client/shared/i18n/messages/instances.js';
import { CAPACITY_MESSAGES } from '../../src/client/shared/i18n/messages/capacity.js';
import { SYNC_MESSAGES } from '../../src/client/shared/i18n/messages/sync.js';
import { SETTINGS_MESSAGES } from '../../src/client/shared/i18n/messages/settings.js';
import { TABLES_MESSAGES } from '../../src/client/shared/i18n/messages/tables.js';
import { API_MESSAGES } from '../../src/client/shared/i18n/messages/api.js';
import { ERROR_MESSAGES } from '../../src/client/shared/i18n/messages/errors.js';
import { CAUSE_MESSAGES } from '../../src/client/shared/i18n/messages/causes.js';
import { DOCTOR_MESSAGES } from '../../src/client/shared/i18n/messages/doctor.js';
import { RUNWAY_MESSAGES } from '../../src/client/shared/i18n/messages/runway.js';
import { ALERT_MESSAGES } from '../../src/client/shared/i18n/messages/alerts.js';
import { WARNING_MESSAGES } from '../../src/client/shared/i18n/messages/warnings.js';
import { IMPORT_MESSAGES } from '../../src/client/shared/i18n/messages/import.js';
import { COMPOSITION_MESSAGES } from '../../src/client/shared/i18n/messages/composition.js';
import { STORE_FILES_MESSAGES } from '../../src/client/shared/i18n/messages/store-files.js';
import { MESSAGES } from '../../src/client/shared/i18n/messages.js';

const AREAS: Record<string, Record<string, { 'zh-CN': string; en?: string }>> = {
  common: COMMON_MESSAGES,
  instances: INSTANCES_MESSAGES,
  capacity: CAPACITY_MESSAGES,
  sync: SYNC_MESSAGES,
  settings: SETTINGS_MESSAGES,
  tables: TABLES_MESSAGES,
  api: API_MESSAGES,
  errors: ERROR_MESSAGES,
  causes: CAUSE_MESSAGES,
  doctor: DOCTOR_MESSAGES,
  runway: RUNWAY_MESSAGES,
  alerts: ALERT_MESSAGES,
  warnings: WARNING_MESSAGES,
  import: IMPORT_MESSAGES,
  composition: COMPOSITION_MESSAGES,
  'store-files': STORE_FILES_MESSAGES,
};

test('a message key is defined in one area file only (a spread would silently keep the last one)', () => {
  const seen = new Map<string, string>();
  const twice: string[] = [];
  for (const [area, messages] of Object.entries(AREAS)) {
    for (const key of Object.keys(messages)) {
      const first = seen.get(key);
      if (first) twice.push(`${key} (${first} and ${area})`);
      seen.set(key, area);
    }
  }
  assert.deepEqual(twice, []);
  assert.equal(Object.keys(MESSAGES).length, seen.size, 'messages.ts joins every area file');
});

test('every message has Chinese and English text, with the same {placeholders}', () => {
  // The same set of parameters (the zh-CN text of an API message may name one twice: `中文 {x} (English {x})`).
  const placeholders = (s: string) => [...new Set([...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))].sort();
  const bad: string[] = [];
  for (const [key, m] of Object.entries(MESSAGES) as [string, { 'zh-CN': string; en?: string }][]) {
    if (!m['zh-CN'] || !m.en) bad.push(`${key}: missing a language`);
    else if (placeholders(m['zh-CN']).join() !== placeholders(m.en).join()) bad.push(`${key}: placeholders differ`);
  }
  assert.deepEqual(bad, []);
});

test('every warning an engine or a service pushes is by key: no literal text (issue #20 item 2)', () => {
  const files = (dir: string): string[] =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
  const literal: string[] = [];
  for (const f of [...files('src/engines'), ...files('src/services')]) {
    const text = fs.readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:warnings|extra)\.push\(\s*(['`"])/g)) literal.push(`${f}:${text.slice(0, m.index).split('\n').length}`);
  }
  assert.deepEqual(literal, []);
});

test('every reason a composition part or ceiling gives is by key: no literal text (issue #20 item 2)', () => {
  const dir = 'src/engines';
  const files = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap(({ name: e }) =>
      fs
        .readdirSync(path.join(dir, e))
        .filter((f) => f.endsWith('.composition.ts'))
        .map((f) => path.join(dir, e, f)),
    );
  assert.equal(files.length, 4, 'one composition module per engine');
  const literal: string[] = [];
  const code = (f: string) =>
    fs
      .readFileSync(f, 'utf8')
      .split('\n')
      .map((line, i) => ({ at: `${f}:${i + 1}`, line }))
      .filter(({ line }) => !/^\s*(\*|\/\/|\/\*)/.test(line));
  for (const f of files) {
    for (const { at, line } of code(f)) {
      // A reason is set as `...why(msg(…))` (text and key together), never `reason: <text>`.
      if (/\bbytes: null, detail: null\b/.test(line) && !/detail: null, \.\.\./.test(line)) literal.push(`${at}: a reason that is not why(…)`);
      if (/\breason:\s*[`'"]/.test(line)) literal.push(`${at}: reason as a literal`);
      if (/(['"`])[^'"`]*[\u4e00-\u9fff][^'"`]*\1/.test(line)) literal.push(`${at}: Chinese literal`);
    }
  }
  // SQL Server's engine wraps its refused side queries' causes (used space, volumes) by key too.
  for (const { at, line } of code('src/engines/sqlserver/sqlserver.engine.ts'))
    if (/\{ error: [`'"]/.test(line) && !/\bmsg: msg\(/.test(line)) literal.push(`${at}: refusal as a literal`);
  assert.deepEqual(literal, []);
});
