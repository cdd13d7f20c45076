/**
 * TLS to monitored databases, shared by the engines: what a live connection's encryption looks like (for
 * `doctor`), and the refusal of a clear-text password over an unencrypted connection.
 *
 * Why the refusal: a server chooses how the client authenticates. A fake server (or anyone who can spoof the
 * host) that asks for the password in clear text (PostgreSQL AuthenticationCleartextPassword, code 3; MySQL
 * `mysql_clear_password`, `sha256_password`, or caching_sha2's RSA path with a key the server supplies) over a
 * plain socket receives the stored "write-only" password. So unless the connection is encrypted — or the
 * instance explicitly opts in with `allow_cleartext_password: true` — the driver is stopped before it sends.
 */
import tls from 'node:tls';
import { SyncError } from '../lib/errors.js';
import type { ConnectTarget, PrivilegeCheck, TlsMaterial } from './engine.js';
import { check } from './common.js';
import { msg } from '../client/shared/i18n/index.js';

export type { TlsMaterial };

/** The option that allows a clear-text password without TLS (per instance, off by default). */
export const CLEARTEXT_OPTION = 'allow_cleartext_password';

export const CLEARTEXT_OPTION_SPEC = {
  kind: 'boolean',
  description: 'send the password in clear text when the server asks for it over an UNENCRYPTED connection (off: refused; TLS makes it unnecessary)',
} as const;

/** Whether a clear-text password may go out on this connection. */
export function cleartextAllowed(target: ConnectTarget, encrypted: boolean): boolean {
  return encrypted || target.options[CLEARTEXT_OPTION] === true;
}

/** The refusal, naming what would allow it. */
export function cleartextRefused(what: string, tlsOption: string): SyncError {
  return new SyncError(
    'auth',
    `服务器要求以明文发送密码（${what}），但连接未加密，已拒绝发送 (the server asked for the password in clear text over an unencrypted connection: refused. ` +
      `Turn on TLS with the ${tlsOption} option, or set ${CLEARTEXT_OPTION}: true on this instance to allow it)`,
  );
}

/**
 * The doctor's line for a live connection. Informational (`ok`: it measures nothing less): a connection the
 * mode requires to be encrypted never gets this far unencrypted.
 */
export function tlsCheck(socket: unknown, mode: string): PrivilegeCheck {
  if (!(socket instanceof tls.TLSSocket) || !socket.encrypted) return check('TLS', true, msg('doctor.tls_plain', { mode }));
  const cert = socket.getPeerCertificate();
  const subject =
    cert && cert.subject
      ? Object.entries(cert.subject)
          .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
          .join(', ')
      : '(none)';
  const verified = socket.authorized
    ? msg('doctor.tls_verified')
    : msg('doctor.tls_not_verified', { reason: socket.authorizationError ? `(${String(socket.authorizationError)})` : '' });
  return check(
    'TLS',
    true,
    msg('doctor.tls_encrypted', {
      protocol: socket.getProtocol() ?? 'TLS',
      cipher: socket.getCipher()?.name ?? '',
      subject,
      expires: cert?.valid_to ? new Date(cert.valid_to).toISOString() : 'unknown',
      verified,
      mode,
    }),
  );
}
