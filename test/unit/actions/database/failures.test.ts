import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AdminUserError,
  DatabaseCertificateError,
  DatabaseRefusedError,
  DatabaseRequestError,
  DatabaseUnreachableError,
} from '../../../../shared/actions/database/index.ts';
import { classifyError } from '../../../../shared/errors/index.ts';
import { classifyDatabaseError, databaseFailure } from '../../../../shared/actions/database/failures.ts';
import { canBuildVerifier, scramSha256Verifier } from '../../../../shared/actions/database/scram.ts';
import { checkSessionFilter, mysqlClientAddress, sameAddress } from '../../../../shared/actions/database/sessions.ts';
import { caBundleFromEnvironment, certificateAuthorities, isCertificateError } from '../../../../shared/actions/database/tls.ts';

const where = { host: 'db.example.internal', port: 5432, user: 'firebreak_admin' };

describe('Action: database failures as typed errors', () => {
  it.each([
    [{ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.0.0.5:5432' }],
    [{ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND db' }],
    [{ code: 'ETIMEDOUT', message: 'connect ETIMEDOUT' }],
    [{ code: 'PROTOCOL_CONNECTION_LOST', message: 'Connection lost: The server closed the connection.' }],
    [{ code: '57P03', message: 'the database system is starting up' }],
    [{ errno: 1040, message: 'Too many connections' }],
    [new Error('Connection terminated due to connection timeout')],
  ])('says unreachable, retryable, for %j', (error) => {
    // Act
    const typed = classifyDatabaseError(error, where);

    // Assess
    expect(typed).toBeInstanceOf(DatabaseUnreachableError);
    expect(classifyError(typed)).toMatchObject({ code: 'DatabaseUnreachable', retryable: true });
    expect(typed).toMatchObject({ host: 'db.example.internal', port: 5432, cause: error });
  });

  it.each([
    [{ code: '28P01', message: 'password authentication failed for user "firebreak_admin"' }],
    [{ code: '28000', message: 'no pg_hba.conf entry' }],
    [{ code: '42501', message: 'permission denied to alter role' }],
    [{ errno: 1045, code: 'ER_ACCESS_DENIED_ERROR', message: 'Access denied' }],
    [{ errno: 1227, code: 'ER_SPECIFIC_ACCESS_DENIED_ERROR', message: 'Access denied; you need (at least one of) the CREATE USER privilege(s)' }],
  ])('says refused, permanent, for %j', (error) => {
    const typed = classifyDatabaseError(error, where);
    expect(typed).toBeInstanceOf(DatabaseRefusedError);
    expect(classifyError(typed)).toMatchObject({ code: 'DatabaseRefused', retryable: false });
  });

  it.each([
    [{ code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'self-signed certificate in certificate chain' }],
    [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: "Hostname/IP does not match certificate's altnames" }],
    [{ code: 'HANDSHAKE_SSL_ERROR', message: 'unable to verify the first certificate' }],
  ])('says the certificate could not be verified for %j', (error) => {
    expect(classifyDatabaseError(error, where)).toBeInstanceOf(DatabaseCertificateError);
    expect(isCertificateError(error)).toBe(error.code !== 'HANDSHAKE_SSL_ERROR' || /certificate/.test(error.message));
  });

  it('leaves a statement’s own error to the caller, stripped of the statement text (which can hold a password)', () => {
    // Prepare
    const error = Object.assign(new Error('Operation ALTER USER failed'), { errno: 1396, sql: "ALTER USER 'u'@'%' IDENTIFIED BY 'secret-pw'" });

    // Act
    const typed = classifyDatabaseError(error, where);
    const failure = databaseFailure(error, where);

    // Assess
    expect(typed).toBeUndefined();
    expect(failure).toBe(error);
    expect(JSON.stringify({ ...failure })).not.toContain('secret-pw');
    expect(databaseFailure('a string', where)).toEqual(new Error('a string'));
  });

  it('names the admin, the action and never a password in its refusals', () => {
    const admin = new AdminUserError('master', 'lock');
    expect(admin.message).toContain('Refusing to lock the admin user "master"');
    expect(classifyError(admin)).toMatchObject({ code: 'DatabaseAdminUser', retryable: false });
    expect(new DatabaseRequestError('no filter').code).toBe('DatabaseRequestInvalid');
  });
});

describe('Action: database session filters and addresses', () => {
  it('refuses a filter naming nothing, an empty user, or an address that is not an IP address', () => {
    expect(() => checkSessionFilter({})).toThrow(/without a user or a client address/);
    expect(() => checkSessionFilter({ user: '' })).toThrow(/empty user name/);
    expect(() => checkSessionFilter({ clientAddress: 'evil.example.com' })).toThrow(/not an IP address/);
    expect(() => checkSessionFilter({ user: 'u', clientAddress: '2001:db8::7' })).not.toThrow();
  });

  it.each([
    ['10.0.0.5:51234', '10.0.0.5'],
    ['10.0.0.5', '10.0.0.5'],
    ['[2001:db8::1]:3306', '2001:db8::1'],
    ['[::1]', '::1'],
    ['::ffff:10.0.0.5:4000', '::ffff:10.0.0.5'],
    ['localhost', undefined],
    ['ip-10-0-0-5.ec2.internal:1234', undefined],
    ['', undefined],
    [null, undefined],
  ])('reads the client address of the MySQL PROCESSLIST host %j', (host, address) => {
    expect(mysqlClientAddress(host)).toBe(address);
  });

  it('compares addresses written differently', () => {
    expect(sameAddress('::ffff:10.0.0.5', '10.0.0.5')).toBe(true);
    expect(sameAddress('2001:DB8::1', '2001:db8::1')).toBe(true);
    expect(sameAddress('10.0.0.5', '10.0.0.50')).toBe(false);
  });
});

describe('Action: database TLS trust and passwords', () => {
  it('trusts Node’s roots, the RDS CA bundle and the extra CAs', () => {
    const cas = certificateAuthorities(['-----BEGIN CERTIFICATE-----\nextra\n-----END CERTIFICATE-----']);
    expect(cas.length).toBeGreaterThan(150);
    expect(cas.at(-1)).toContain('extra');
  });

  it('reads the extra CA bundle named by FIREBREAK_DATABASE_CA_BUNDLE, and none when it is unset', () => {
    const path = join(tmpdir(), `firebreak-ca-${process.pid}.pem`);
    writeFileSync(path, 'PEM');
    expect(caBundleFromEnvironment({ FIREBREAK_DATABASE_CA_BUNDLE: path })).toEqual(['PEM']);
    expect(caBundleFromEnvironment({})).toEqual([]);
    expect(caBundleFromEnvironment({ FIREBREAK_DATABASE_CA_BUNDLE: ' ' })).toEqual([]);
  });

  it('builds the SCRAM-SHA-256 verifier PostgreSQL would store (RFC 5802 keys, base64)', () => {
    // Prepare
    const salt = Buffer.from('0123456789abcdef');
    const salted = pbkdf2Sync('pencil', salt, 4096, 32, 'sha256');
    const storedKey = createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest('base64');
    const serverKey = createHmac('sha256', salted).update('Server Key').digest('base64');

    // Act / Assess
    expect(scramSha256Verifier('pencil', salt)).toBe(`SCRAM-SHA-256$4096:${salt.toString('base64')}$${storedKey}:${serverKey}`);
    expect(scramSha256Verifier('pencil')).not.toBe(scramSha256Verifier('pencil'));
    expect(canBuildVerifier('pâss')).toBe(false);
    expect(canBuildVerifier('')).toBe(false);
    expect(() => scramSha256Verifier('pâss')).toThrow(/printable ASCII/);
  });
});
