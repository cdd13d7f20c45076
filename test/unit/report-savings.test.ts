import assert from 'node:assert/strict';
import { test } from 'node:test';
import { savingsInParts } from '../../src/services/capacity-report.service.js';

const GB = 2 ** 30;

test('free space inside files is a reclaimable candidate on every engine that reports it', () => {
  const got = savingsInParts([
    { kind: 'heap', bytes: 10 * GB },
    { kind: 'reclaimable', bytes: 1 * GB }, // PostgreSQL
    { kind: 'free', bytes: 2 * GB }, // MySQL / MariaDB
    { kind: 'data_unused', bytes: 3 * GB, detail: { reclaim: 'DBCC SHRINKFILE' } }, // SQL Server
    { kind: 'tablespace_free', bytes: 4 * GB }, // Oracle
    { kind: 'log_unused', bytes: 5 * GB }, // a log's free space is needed by the log: not a candidate
  ]);
  assert.deepEqual(
    got.map((c) => [c.kind, c.target, c.savings_bytes]),
    [
      ['reclaimable', 'reclaimable', 1 * GB],
      ['reclaimable', 'free', 2 * GB],
      ['reclaimable', 'data_unused', 3 * GB],
      ['reclaimable', 'tablespace_free', 4 * GB],
    ],
  );
});

test('binary logs and inactive slots holding WAL are candidates; unknown or empty parts are not', () => {
  const got = savingsInParts([
    { kind: 'binary_logs', bytes: 2 * GB },
    { kind: 'free', bytes: null },
    { kind: 'data_unused', bytes: 0 },
    {
      kind: 'wal_retained_by_slots',
      bytes: 3 * GB,
      detail: {
        slots: [
          { name: 'old', bytes: 3 * GB, inactive_holding_wal: true },
          { name: 'live', bytes: 0, inactive_holding_wal: false },
        ],
      },
    },
  ]);
  assert.deepEqual(
    got.map((c) => [c.kind, c.target, c.savings_bytes]),
    [
      ['binary_logs', 'binary_logs', 2 * GB],
      ['inactive_slot_wal', 'old', 3 * GB],
    ],
  );
});
