/**
 * A PostgreSQL SCRAM-SHA-256 password verifier, computed here so that `ALTER ROLE … PASSWORD`
 * never carries the password itself: PostgreSQL stores a verifier it is given as is, and the
 * statement (which `log_statement = 'ddl'` or pgaudit would log, and which Firebreak downloads
 * with the logs as evidence) holds only the salted hash. RFC 5802 / RFC 7677, as PostgreSQL's
 * `scram_build_secret` builds it.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** PostgreSQL's default iteration count (`scram_iterations`). */
const ITERATIONS = 4096;

/**
 * SASLprep (RFC 4013), which PostgreSQL applies to the password before hashing, leaves printable
 * ASCII unchanged; for anything else the caller sends the password and lets the server hash it.
 */
export function canBuildVerifier(password: string): boolean {
  return password.length > 0 && /^[\x20-\x7e]+$/.test(password);
}

/** `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` for a printable-ASCII password. */
export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16), iterations = ITERATIONS): string {
  if (!canBuildVerifier(password)) {
    throw new Error('A SCRAM verifier is built here for printable ASCII passwords only');
  }
  const saltedPassword = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', saltedPassword).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', saltedPassword).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
