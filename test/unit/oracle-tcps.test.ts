/**
 * Oracle TCPS (issue 17, item 1) where node-oracledb's thin mode supports it: the instance options in Oracle's
 * vocabulary reach the driver's getConnection as thin mode takes them (`tcps://` connect string,
 * sslServerDNMatch, sslServerCertDN, a PEM wallet in walletContent built from the decrypted TLS material), and
 * bad combinations are refused before the driver is called. A recording stand-in driver (no Oracle here).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConnectTarget } from '../../src/engines/engine.js';
import { makeOracleEngine, type OracleDriver } from '../../src/engines/oracle/oracle.engine.js';
import { SyncError } from '../../src/lib/errors.js';
import { oracledb } from '../helpers/oracle-rows.js';

const CA = '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n';

function target(over: Partial<ConnectTarget> = {}): ConnectTarget {
  return {
    host: 'db.example.com',
    port: 2484,
    database: 'ORCLPDB1',
    username: 'whalefall',
    password: 'pw-tcps-1',
    options: {},
    connectTimeoutMs: 1000,
    queryTimeoutMs: 30000,
    ...over,
  };
}

function recording() {
  const calls: Parameters<OracleDriver['getConnection']>[0][] = [];
  const driver: OracleDriver = {
    ...oracledb,
    getConnection: (attrs) => {
      calls.push(attrs);
      return Promise.resolve({
        callTimeout: 0,
        oracleServerVersionString: '19.3.0.0.0',
        execute: () => Promise.resolve({ rows: [] }),
        close: () => Promise.resolve(),
      });
    },
  };
  return { engine: makeOracleEngine(driver), calls };
}

describe('Oracle TCPS options reach the thin driver', () => {
  test('the engine declares protocol, ssl_server_dn_match and ssl_server_cert_dn', () => {
    const { engine } = recording();
    assert.deepEqual(engine.options.protocol, { kind: 'enum', values: ['tcp', 'tcps'], description: engine.options.protocol!.description });
    assert.equal(engine.options.ssl_server_dn_match?.kind, 'boolean');
    assert.equal(engine.options.ssl_server_cert_dn?.kind, 'string');
  });

  test('plain tcp: the connect string and attributes as before, no TLS attribute', async () => {
    const { engine, calls } = recording();
    await (await engine.connect(target())).close();
    assert.equal(calls[0]!.connectString, 'db.example.com:2484/ORCLPDB1');
    assert.equal('sslServerDNMatch' in calls[0]!, false);
    assert.equal('walletContent' in calls[0]!, false);
  });

  test('tcps with the system CAs: tcps:// and DN matching on by default; an exact DN when given', async () => {
    const { engine, calls } = recording();
    await (await engine.connect(target({ options: { protocol: 'tcps' } }))).close();
    assert.equal(calls[0]!.connectString, 'tcps://db.example.com:2484/ORCLPDB1');
    assert.equal(calls[0]!.sslServerDNMatch, true);
    assert.equal(calls[0]!.walletContent, undefined);
    await (await engine.connect(target({ options: { protocol: 'tcps', ssl_server_dn_match: false } }))).close();
    assert.equal(calls[1]!.sslServerDNMatch, false);
    await (await engine.connect(target({ options: { protocol: 'tcps', ssl_server_cert_dn: 'CN=db.example.com,O=Example' } }))).close();
    assert.equal(calls[2]!.sslServerCertDN, 'CN=db.example.com,O=Example');
  });

  test('tcps with a client certificate, key and CA: one PEM wallet (cert, key, CA) in walletContent', async () => {
    const { engine, calls } = recording();
    await (await engine.connect(target({ options: { protocol: 'tcps' }, tls: { ca: CA, cert: CERT, key: KEY } }))).close();
    assert.equal(calls[0]!.walletContent, CERT + KEY + CA);
    await (await engine.connect(target({ options: { protocol: 'tcps' }, tls: { cert: CERT, key: KEY } }))).close();
    assert.equal(calls[1]!.walletContent, CERT + KEY);
  });

  test('bad input is refused with a clear message before the driver is called', async () => {
    const { engine, calls } = recording();
    const refused = async (t: ConnectTarget, re: RegExp) => {
      const err = await engine.connect(t).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof SyncError, String(err));
      assert.equal(err.code, 'data');
      assert.match(err.message, re);
    };
    await refused(target({ tls: { ca: CA } }), /need protocol: tcps/);
    await refused(target({ options: { ssl_server_cert_dn: 'CN=x' } }), /need protocol: tcps/);
    await refused(target({ options: { protocol: 'tcps' }, tls: { ca: CA } }), /give tls_cert and tls_key too, or remove tls_ca/);
    await refused(target({ options: { protocol: 'tcps', ssl_server_cert_dn: 'no equals sign' } }), /a certificate DN/);
    await refused(target({ options: { protocol: 'tcps', ssl_server_cert_dn: 'CN=x\u001b[2J' } }), /a certificate DN/);
    assert.equal(calls.length, 0);
  });
});
