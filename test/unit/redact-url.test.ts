/**
 * redactUrl (src/store/db.ts): what `whalefall config check` prints for DATABASE_URL and WHALEFALL_SMTP_URL. A
 * password can sit in the user-info or in a query parameter (libpq's `?password=`, `?sslpassword=`; an SMTP URL's
 * `?pass=`): neither may be printed. The trial printed `postgres://u@h/db?password=QueryPw55&sslmode=require`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactUrl } from '../../src/store/db.js';

describe('redactUrl', () => {
  it('drops the user-info password', () => {
    assert.equal(redactUrl('postgres://wf:db-pass-123@db.example:5432/wf'), 'postgres://wf@db.example:5432/wf');
  });

  it('masks a password given as a query parameter, keeps the other parameters', () => {
    const out = redactUrl('postgres://u@h/db?password=QueryPw55&sslmode=require&sslpassword=KeyPw77');
    assert.doesNotMatch(out, /QueryPw55|KeyPw77/);
    assert.equal(out, 'postgres://u@h/db?password=***&sslmode=require&sslpassword=***');
    assert.equal(redactUrl('smtps://mailer@smtp.example:465/?pass=SmtpPw9'), 'smtps://mailer@smtp.example:465/?pass=***');
  });

  it('an unparseable URL is not echoed', () => {
    assert.equal(redactUrl('postgres://u:pw@[bad'), 'postgres://(unparseable url)');
  });
});
