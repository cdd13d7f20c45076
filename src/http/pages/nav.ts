/**
 * The navbar: one line per page, in order. `role` hides the link from lesser
 * roles (the page route still checks access itself).
 */
import type { Role } from '../../services/auth.service.js';
import type { MessageKey } from '../../client/shared/i18n/index.js';

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
