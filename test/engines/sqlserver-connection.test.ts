/**
 * SQL Server connections through the real mssql/tedious driver: login
 * errors (password scrubbed), permission and network errors classified,
 * connect and query timeouts, TLS refusal, NTLM, named instances.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import dgram from 'node:dgram';
import { startTdsResponder, type TdsResponder } from '../helpers/tds-responder.js';
import { closedPort } from '../helpers/targets.js';
import { collectOnce, connectError, failure, FILES, find, identity, pagesToBytes, PASSWORD, startServer, target } from '../helpers/sqlserver-server.js';

describe('SQL Server connections (real driver, TDS responder)', () => {
  let server: TdsResponder;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  test('login failed (18456) is auth, and the password never appears in the message', async () => {
    const err = await connectError(target(server.port, { password: 'Wr0ng-pa$$' }));
    assert.equal(err.code, 'auth');
    assert.match(err.message, /^登录失败（修复：.*18456 的 state）: Login failed for user 'dba'\.$/);

    // A server (or proxy) that echoes the password: scrubbed on the way out.
    const leaky = await startTdsResponder({
      login: (l, password) => ({ number: 18456, message: `Login failed for user '${l.user}' with password '${password}'.` }),
      handlers: [],
    });
    try {
      const leaked = await connectError(target(leaky.port));
      assert.equal(leaked.code, 'auth');
      assert.ok(!leaked.message.includes(PASSWORD), leaked.message);
      assert.match(leaked.message, /with password '\*\*\*'/);
    } finally {
      await leaky.close();
    }
  });

  test('a permission error from the server (229) is permission', async () => {
    const denied = await startTdsResponder({
      handlers: [
        [/SERVERPROPERTY/, identity],
        [
          FILES,
          {
            error: {
              number: 229,
              class: 14,
              message: "The SELECT permission was denied on the object 'master_files', database 'mssqlsystemresource', schema 'sys'.",
            },
          },
        ],
      ],
    });
    try {
      const err = await failure(collectOnce(target(denied.port)));
      assert.equal(err.code, 'permission');
      assert.match(err.message, /^权限不足: The SELECT permission was denied on the object 'master_files'/);
    } finally {
      await denied.close();
    }
  });

  test('a query that never returns times out after the query timeout (tedious cancels it)', async () => {
    const stuck = await startTdsResponder({
      handlers: [
        [/SERVERPROPERTY/, identity],
        [FILES, 'hang'],
      ],
    });
    try {
      const started = Date.now();
      const err = await failure(collectOnce(target(stuck.port, { queryTimeoutMs: 500 })));
      const elapsed = Date.now() - started;
      assert.equal(err.code, 'timeout');
      assert.match(err.message, /Request failed to complete in 500ms/);
      assert.ok(elapsed < 500 + 1500, `took ${elapsed} ms`);
    } finally {
      await stuck.close();
    }
  });

  test('encrypt: a server that does not negotiate TLS is refused (tedious would go on in clear text)', async () => {
    const err = await connectError(target(server.port, { options: { encrypt: true, trust_server_certificate: true } }));
    assert.equal(err.code, 'connection');
    assert.match(err.message, /did not negotiate TLS/);
  });

  test('domain: the login goes out as NTLM (LOGIN7 with integrated security), not SQL authentication', async () => {
    const before = server.logins.length;
    const err = await connectError(target(server.port, { username: 'svc_whalefall', options: { domain: 'corp' } }));
    assert.equal(err.code, 'auth');
    const login = server.logins[before];
    assert.deepEqual([login?.integratedSecurity, login?.user], [true, ''], 'no SQL user name: NTLM carries the identity');
  });

  test('instance_name: the port comes from SQL Server Browser (UDP 1434), the configured port is ignored', async (t) => {
    const browser = dgram.createSocket('udp4');
    const bound = await new Promise<boolean>((resolve) => {
      browser.once('error', () => resolve(false));
      browser.bind(1434, '127.0.0.1', () => resolve(true));
    });
    if (!bound) {
      t.skip('UDP 127.0.0.1:1434 is in use on this machine');
      return;
    }
    // SVR_RESP: 0x05, 2-byte length, then `key;value;` pairs ending in `;;` (MS-SQLR 2.2.5).
    browser.on('message', (_msg, peer) => {
      const text = Buffer.from(`ServerName;TEST;InstanceName;WHALE;IsClustered;No;Version;16.0.4135.4;tcp;${server.port};;`, 'ascii');
      const header = Buffer.from([0x05, 0, 0]);
      header.writeUInt16LE(text.length, 1);
      browser.send(Buffer.concat([header, text]), peer.port, peer.address);
    });
    try {
      const c = await collectOnce(target(await closedPort(), { options: { instance_name: 'whale' } }));
      assert.equal(find(c, 'sales').size_bytes, pagesToBytes(128_000n + 32_000n));
    } finally {
      browser.close();
    }
  });
});
