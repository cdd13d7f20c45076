/**
 * The TLS material of an instance (CA certificate, client certificate and key, PEM): checked when an admin
 * sends it, stored encrypted with the credentials' key ring (`instances.tls_enc`), and described in clear
 * only by what is not secret (`instances.tls_info`: subjects, expiry dates, whether a key is set). The API
 * takes it write-only (`tls_ca`, `tls_cert`, `tls_key`; null removes one) and never returns the PEM.
 */
import crypto from 'node:crypto';
import type { TlsMaterial } from '../engines/tls.js';
import { fail } from './validate.js';
import { msg } from '../client/shared/i18n/index.js';

export interface TlsInput {
  tls_ca?: unknown;
  tls_cert?: unknown;
  tls_key?: unknown;
}

export interface CertInfo {
  subject: string;
  issuer: string;
  expires_at: string;
}

/** What the API shows of an instance's TLS material. */
export interface TlsInfo {
  ca: CertInfo | null;
  cert: CertInfo | null;
  key_set: boolean;
}

export const NO_TLS_INFO: TlsInfo = { ca: null, cert: null, key_set: false };

const MAX_PEM = 64 * 1024;

function pem(field: string, v: unknown): string {
  if (typeof v !== 'string' || !v.trim()) fail(field, msg('api.v.pem'));
  if (v.length > MAX_PEM) fail(field, msg('api.v.max_chars_short', { max: MAX_PEM }));
  return v.trim() + '\n';
}

function certInfo(field: string, text: string): CertInfo {
  try {
    const c = new crypto.X509Certificate(text);
    return { subject: c.subject.replace(/\n/g, ', '), issuer: c.issuer.replace(/\n/g, ', '), expires_at: new Date(c.validTo).toISOString() };
  } catch {
    fail(field, msg('api.v.pem_cert'));
  }
}

/** Merge a request's TLS fields into the stored material; undefined when the request has none. */
export function mergeTls(current: TlsMaterial, input: TlsInput): { material: TlsMaterial; info: TlsInfo } | undefined {
  if (input.tls_ca === undefined && input.tls_cert === undefined && input.tls_key === undefined) return undefined;
  const m: TlsMaterial = { ...current };
  for (const [field, key] of [
    ['tls_ca', 'ca'],
    ['tls_cert', 'cert'],
    ['tls_key', 'key'],
  ] as const) {
    const v = input[field];
    if (v === undefined) continue;
    if (v === null) delete m[key];
    else m[key] = pem(field, v);
  }
  if (m.key !== undefined) {
    try {
      crypto.createPrivateKey(m.key);
    } catch {
      fail('tls_key', msg('api.v.pem_key'));
    }
  }
  if ((m.key === undefined) !== (m.cert === undefined)) fail(m.key ? 'tls_cert' : 'tls_key', msg('api.v.cert_and_key'));
  return {
    material: m,
    info: { ca: m.ca ? certInfo('tls_ca', m.ca) : null, cert: m.cert ? certInfo('tls_cert', m.cert) : null, key_set: m.key !== undefined },
  };
}
