/**
 * The navbar: one line per page, in order. `role` hides the link from lesser
 * roles (the page route still checks access itself).
 */
import type { Role } from '../../services/auth.service.js';
import type { Locale, MessageKey } from '../../client/shared/i18n/index.js';

export interface NavItem {
  id: string;
  href: string;
  icon: string;
  label: MessageKey;
  role: Role;
}

export const NAV: NavItem[] = [
  { id: 'instances', href: '/instances', icon: 'fas fa-server', label: 'nav.instances', role: 'viewer' },
  { id: 'capacity_instances', href: '/capacity/instances', icon: 'fas fa-chart-area', label: 'nav.capacity_instances', role: 'viewer' },
  { id: 'capacity_databases', href: '/capacity/databases', icon: 'fas fa-database', label: 'nav.capacity_databases', role: 'viewer' },
  { id: 'capacity_tables', href: '/capacity/tables', icon: 'fas fa-table', label: 'nav.capacity_tables', role: 'viewer' },
  { id: 'runway', href: '/capacity/runway', icon: 'fas fa-hourglass-half', label: 'nav.runway', role: 'viewer' },
  { id: 'sync_sessions', href: '/sync-sessions', icon: 'fas fa-clock-rotate-left', label: 'nav.sync_sessions', role: 'viewer' },
  { id: 'settings', href: '/settings', icon: 'fas fa-gear', label: 'nav.settings', role: 'admin' },
  { id: 'docs', href: '/docs', icon: 'fas fa-book', label: 'nav.api_docs', role: 'viewer' },
];

/**
 * Bootstrap's breakpoint from which the navbar is one row (below it, the
 * toggler's menu), by language: the row's natural width differs by ~300 px.
 * Measured in Chromium, an admin named `admin` (the brand, the eight entries,
 * language, user, log out): English 1,451 px with every icon at 0.9rem,
 * 1,275 without the entries' icons, 1,070 in its tight band (app.css: 0.85rem,
 * narrower entries, no icons, log out an icon); Chinese 1,162, 986 and 825.
 * So English is one row from 1,200 px, Chinese from 992; a long user name is
 * cut at 8rem. test/e2e/ui.test.ts checks, in both languages at the common
 * widths, that the row is one line and no entry wraps.
 */
export const NAV_EXPAND: Record<Locale, 'lg' | 'xl'> = { 'zh-CN': 'lg', en: 'xl' };
