/** Any HTTP receiver: the facts as JSON; the status decides (4xx permanent, 408/429/5xx retried). */
import { statusVerdict, type Robot } from './robot.js';

export const generic: Robot = {
  signs: false,
  request: (url, m) => ({
    url,
    body: {
      event: m.event_id,
      rule: m.rule,
      kind: m.kind,
      state: m.state,
      instance: m.instance,
      database: m.database,
      value: m.value,
      current_value: m.current_value ?? null,
      message: m.message,
      fired_at: m.fired_at,
      resolved_at: m.resolved_at,
    },
  }),
  verdict: statusVerdict,
};
