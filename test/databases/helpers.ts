/**
 * The local servers of scripts/databases.sh (PostgreSQL and MariaDB on loopback, TLS from a local
 * CA), and what the tests do with them directly through the drivers: create users, hold their
 * sessions open, try their logins. Settings come from the environment (the `databases.sh with`
 * wrapper exports them) or from .firebreak/databases.env.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { resolve } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { createDatabaseConnector } from '../../shared/actions/database/index.ts';
import type { DatabaseEndpoint } from '../../shared/actions/database/types.ts';

const ENV_FILE = resolve(import.meta.dirname, '../../.firebreak/databases.env');

function settings(): Record<string, string> {
  const fromFile: Record<string, string> = {};
  if (existsSync(ENV_FILE)) {
    for (const line of readFileSync(ENV_FILE, 'utf8').split('\n')) {
      const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (match?.[1]) fromFile[match[1]] = match[2] ?? '';
    }
  }
  const read = (name: string): string => {
    const value = process.env[name] ?? fromFile[name];
    if (!value) throw new Error(`${name} is not set: start the local servers with 'make databases' (scripts/databases.sh start)`);
    return value;
  };
  return Object.fromEntries(
    [
      'FIREBREAK_PG_HOST',
      'FIREBREAK_PG_PORT',
      'FIREBREAK_PG_ADMIN_USER',
      'FIREBREAK_PG_ADMIN_PASSWORD',
      'FIREBREAK_MARIADB_HOST',
      'FIREBREAK_MARIADB_PORT',
      'FIREBREAK_MARIADB_ADMIN_USER',
      'FIREBREAK_MARIADB_ADMIN_PASSWORD',
      'FIREBREAK_DATABASE_CA_BUNDLE',
    ].map((name) => [name, read(name)]),
  );
}

const env = settings();

/** The local test CA (PEM file, and its text) that signed both servers' certificate. */
export const localCaPath = env.FIREBREAK_DATABASE_CA_BUNDLE!;
export const localCa = readFileSync(localCaPath, 'utf8');

/** A connector that trusts the local CA, as the deployed one trusts the RDS CA bundle. */
export const connect = createDatabaseConnector({ extraCertificateAuthorities: () => [localCa] });

export const postgresAdmin: DatabaseEndpoint = {
  dialect: 'postgresql',
  host: env.FIREBREAK_PG_HOST!,
  port: Number(env.FIREBREAK_PG_PORT),
  username: env.FIREBREAK_PG_ADMIN_USER!,
  password: env.FIREBREAK_PG_ADMIN_PASSWORD!,
  database: 'postgres',
};

export const mariadbAdmin: DatabaseEndpoint = {
  dialect: 'mysql',
  host: env.FIREBREAK_MARIADB_HOST!,
  port: Number(env.FIREBREAK_MARIADB_PORT),
  username: env.FIREBREAK_MARIADB_ADMIN_USER!,
  password: env.FIREBREAK_MARIADB_ADMIN_PASSWORD!,
};

/** A name no other test (or earlier run) uses, with `prefix` first. */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

/** A password for a test user. */
export function newPassword(): string {
  return randomBytes(12).toString('base64url');
}

// ---- PostgreSQL, directly ------------------------------------------------------------------

/** A raw pg client (TLS, local CA): an error event on a terminated session is swallowed, the next query rejects. */
export async function pgSession(user: string, password: string): Promise<pg.Client> {
  const client = new pg.Client({
    host: postgresAdmin.host,
    port: postgresAdmin.port,
    user,
    password,
    database: 'postgres',
    ssl: { ca: localCa, rejectUnauthorized: true },
    connectionTimeoutMillis: 5000,
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** The backend pid of a raw pg client's session (pg knows it from BackendKeyData; its types do not say so). */
export function pidOf(client: pg.Client): string {
  return String((client as unknown as { processID: number }).processID);
}

/** The test's own admin session, for setup and for looking (never Firebreak's code). */
export function pgAdminSession(): Promise<pg.Client> {
  return pgSession(postgresAdmin.username, postgresAdmin.password);
}

/** Creates a login role with a password (names quoted: they are hostile in these tests). */
export async function createPgRole(admin: pg.Client, name: string, password: string, options = 'LOGIN'): Promise<void> {
  await admin.query(`CREATE ROLE ${admin.escapeIdentifier(name)} ${options} PASSWORD ${admin.escapeLiteral(password)}`);
}

/** Resolves with how a login as the user ended: 'accepted' (and the session closed) or the server's error. */
export async function pgLogin(user: string, password: string): Promise<'accepted' | { code?: string; message: string }> {
  try {
    const client = await pgSession(user, password);
    await client.end();
    return 'accepted';
  } catch (error) {
    const e = error as { code?: string; message: string };
    return { code: e.code, message: e.message };
  }
}

// ---- MariaDB, directly ---------------------------------------------------------------------

export async function mariadbSession(user: string, password: string): Promise<mysql.Connection> {
  const connection = await mysql.createConnection({
    host: mariadbAdmin.host,
    port: mariadbAdmin.port,
    user,
    password,
    ssl: { ca: localCa, rejectUnauthorized: true },
    connectTimeout: 5000,
  });
  connection.on('error', () => undefined);
  return connection;
}

export function mariadbAdminSession(): Promise<mysql.Connection> {
  return mariadbSession(mariadbAdmin.username, mariadbAdmin.password);
}

export async function mariadbLogin(user: string, password: string): Promise<'accepted' | { errno?: number; message: string }> {
  try {
    const connection = await mariadbSession(user, password);
    await connection.end();
    return 'accepted';
  } catch (error) {
    const e = error as { errno?: number; message: string };
    return { errno: e.errno, message: e.message };
  }
}

// ---- sessions ------------------------------------------------------------------------------

/** Resolves once `probe` rejects (the session was ended), or rejects after `ms`. */
export async function endedWithin(probe: () => Promise<unknown>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await probe();
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`the session still answers after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- a proxy that refuses TLS ------------------------------------------------------------------

/**
 * A TCP proxy to `target` that makes the server look as if it had no TLS: for PostgreSQL it
 * answers the client's SSLRequest with `N`; for MySQL it clears CLIENT_SSL in the server's
 * greeting. Everything else passes through unchanged.
 */
export async function tlsRefusingProxy(dialect: 'postgresql' | 'mysql', target: { host: string; port: number }): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    const upstream = new Socket();
    sockets.add(upstream);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', closeBoth).on('close', closeBoth);
    upstream.on('error', closeBoth).on('close', closeBoth);
    if (dialect === 'postgresql') {
      client.once('data', (first) => {
        // SSLRequest: length 8, code 80877103.
        if (first.length === 8 && first.readUInt32BE(4) === 80877103) {
          client.write('N');
          return;
        }
        upstream.connect(target.port, target.host, () => {
          upstream.write(first);
          client.pipe(upstream);
          upstream.pipe(client);
        });
      });
    } else {
      upstream.connect(target.port, target.host, () => {
        upstream.once('data', (greeting) => {
          // Header (4) + protocol version (1) + server version (NUL-terminated) + thread id (4) + scramble (8) + filler (1), then the capability flags' low 16 bits.
          const versionEnd = greeting.indexOf(0, 5);
          const flags = versionEnd + 1 + 4 + 8 + 1;
          greeting.writeUInt16LE(greeting.readUInt16LE(flags) & ~0x0800, flags);
          client.write(greeting);
          client.pipe(upstream);
          upstream.pipe(client);
        });
      });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  return {
    port: address.port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A TCP server that accepts connections and never answers: a database that hangs. */
export async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the silent server has no port');
  return {
    port: address.port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
