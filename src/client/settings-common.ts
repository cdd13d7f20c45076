/** What the settings tabs share (settings.page.ts and its settings-*.ts tab modules). */
import { h } from './ui.js';

export const byId = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
export const input = (id: string) => byId<HTMLInputElement>(id);
export const emptyRow = (cols: number, text: string) => h('tr', {}, h('td', { colspan: cols, class: 'text-center text-muted py-3' }, text));
export const MB = 1024 * 1024;
export const GB = 1024 * MB;
