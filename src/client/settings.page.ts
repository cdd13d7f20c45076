/**
 * Settings (admin): schedule (PATCH /api/settings), exclusion rules, the
 * monthly report's showback rate, users,
 * API tokens (the secret shown once), alert rules with webhooks, recent alert
 * events and their delivery log. Every error shown is the server's message.
 * One module per tab (settings-schedule / -report / -users / -tokens / -alerts.ts, shared
 * helpers in settings-common.ts); this entry loads them and follows the URL hash.
 */
import { loadEvents, loadInstances, loadRules } from './settings-alerts.js';
import { showReportSettings } from './settings-report.js';
import { loadSettings } from './settings-schedule.js';
import { loadTokens } from './settings-tokens.js';
import { loadUsers } from './settings-users.js';

// Open the tab named in the URL hash (#users, #tokens, #alerts …) and keep the hash in step.
function showHashTab(): void {
  const tab = document.getElementById(`wf-tab-${window.location.hash.slice(1)}`);
  if (tab) window.bootstrap?.Tab.getOrCreateInstance(tab).show();
}
showHashTab();
window.addEventListener('hashchange', showHashTab);
for (const tab of document.querySelectorAll<HTMLElement>('[data-bs-toggle="tab"]')) {
  tab.addEventListener('shown.bs.tab', () => history.replaceState(null, '', `#${tab.id.replace('wf-tab-', '')}`));
}

void loadSettings().then((s) => s && showReportSettings(s));
void loadUsers();
void loadTokens();
void loadInstances().then(loadRules);
void loadEvents();
