/**
 * Preloaded into `serve`/`worker` children by the scale-out bench
 * (NODE_OPTIONS=--import …/count-statements.mjs): counts every statement
 * the process sends to the store (the store pool and pg-boss's alike: both
 * go through pg's Client#query), by its first words, and writes the counts
 * to `$WF_COUNT_STATEMENTS_FILE.<pid>.json` when the process exits (and those
 * sent named, prepared once per connection, to `…-named.<pid>.json`). Measures
 * what a record costs in round trips; nothing of it runs outside the bench.
 */
import fs from 'node:fs';
import pg from 'pg';

const out = process.env.WF_COUNT_STATEMENTS_FILE;
if (out) {
  const counts = {};
  // Of those, the ones sent as named prepared statements (src/store/pg-prepared.ts): parsed once per connection.
  const named = {};
  const keys = new Map();
  const query = pg.Client.prototype.query;
  // The store only: the engine's queries to the monitored servers (pg-responder) go through pg too.
  const store = new URL(process.env.DATABASE_URL ?? 'postgres://x/').pathname.slice(1);
  pg.Client.prototype.query = function (config, ...rest) {
    if (this.database !== store) return query.call(this, config, ...rest);
    const text = typeof config === 'string' ? config : (config?.text ?? '');
    let key = keys.get(text);
    if (key === undefined) {
      key = text.replace(/\s+/g, ' ').trim().slice(0, 90);
      // The same few dozen texts over and over: the counting itself should cost the measured process next to nothing.
      if (keys.size < 10_000) keys.set(text, key);
    }
    counts[key] = (counts[key] ?? 0) + 1;
    if (typeof config === 'object' && config?.name) named[key] = (named[key] ?? 0) + 1;
    return query.call(this, config, ...rest);
  };
  process.on('exit', () => {
    fs.writeFileSync(`${out}.${process.pid}.json`, JSON.stringify(counts));
    fs.writeFileSync(`${out}-named.${process.pid}.json`, JSON.stringify(named));
  });
}
