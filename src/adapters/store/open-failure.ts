// Why a database could not be opened at start-up, and what the user should do about it. The store
// does not know which setting named the database (PLANEXEC_DB, --db, "db" in the config file): it
// says what went wrong, and the composition root names the setting (openFailureMessage).
import { StorageError } from '../../core/errors.js';
import { maskPostgresUrl } from './postgres-url.js';

/**
 * What kept a database from opening: PostgreSQL refused the user or password ('auth'), the database
 * or the search_path's schema does not exist, the TLS settings of the two sides disagree ('tls'),
 * or the database holds migrations of a newer planexec. (A server that cannot be reached is a
 * StorageError of reason 'connection'.)
 */
export type OpenProblem = 'auth' | 'database' | 'schema' | 'tls' | 'migrations';

/**
 * A database that cannot be opened, for a reason the user must fix before starting again. `message`
 * says what is wrong (the server's own words included, any postgres URL in them masked); it names
 * no setting. `cause`: the underlying error.
 */
export class DatabaseOpenError extends Error {
  override name = 'DatabaseOpenError';
  constructor(
    readonly problem: OpenProblem,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(maskPostgresUrl(message), options);
  }
}

// SQLSTATE classes and codes (PostgreSQL manual, appendix A): 28 invalid_authorization_specification
// (wrong password, no such role, no pg_hba.conf entry), 3D000 invalid_catalog_name (no such database),
// 3F000 invalid_schema_name.
const TLS = /\bSSL\b|\bTLS\b|certificate|self[- ]signed/i;

/**
 * The PostgreSQL failure `error` of opening a store as a DatabaseOpenError when it is one the user
 * must fix (see OpenProblem); StorageError and anything unknown come back unchanged. Pure.
 */
export function asPgOpenError(error: unknown): unknown {
  if (error instanceof DatabaseOpenError || error instanceof StorageError || !(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  const text = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? `${code}: ${error.message}` : error.message;
  if (typeof code === 'string' && code.startsWith('28')) return new DatabaseOpenError('auth', `PostgreSQL refused the connection (${text})`, { cause: error });
  if (code === '3D000') return new DatabaseOpenError('database', `the database does not exist (${text})`, { cause: error });
  if (code === '3F000') return new DatabaseOpenError('schema', `the schema does not exist (${text})`, { cause: error });
  if (TLS.test(error.message) || (typeof code === 'string' && /CERT|TLS|SSL/.test(code))) {
    return new DatabaseOpenError('tls', `the TLS connection failed (${text})`, { cause: error });
  }
  return error;
}

/**
 * The start-up message for a database that did not open: `<setting> <shown>: cannot open the
 * database: <what>. <what to do>`. `setting` is where the value came from (config.sources.db, e.g.
 * '--db', 'PLANEXEC_DB', '"db" in the config file ...'); `shown` the database as it may be shown (a
 * file path, or the URL with its password masked); `postgres` whether it is a PostgreSQL URL. Any
 * postgres URL quoted in `error` is masked; the caller still passes the text through the redactor.
 */
export function openFailureMessage(error: unknown, setting: string, shown: string, postgres: boolean): string {
  const what = maskPostgresUrl(error instanceof Error ? error.message : String(error)).replace(/[.\s]+$/, '');
  return `${setting} ${maskPostgresUrl(shown)}: cannot open the database: ${what}. ${advice(error, setting, postgres)}`;
}

function advice(error: unknown, setting: string, postgres: boolean): string {
  const other = postgres ? 'database' : 'file';
  if (error instanceof DatabaseOpenError) {
    switch (error.problem) {
      case 'auth':
        return `Correct the user and password in ${setting} (special characters of the password percent-encoded), or have the server admit that user (the role exists and may log in, pg_hba.conf lets it connect from here).`;
      case 'database':
        return `Create the database on the server (createdb, or CREATE DATABASE), or name an existing one in ${setting}.`;
      case 'schema':
        return `Create the schema on the server (CREATE SCHEMA), or name an existing one in the search_path of ${setting} (?options=-c%20search_path%3Dname).`;
      case 'tls':
        return /does not support SSL/i.test(error.message)
          ? `The server does not accept TLS while ${setting} asks for it (sslmode): remove sslmode from ${setting} (or set sslmode=disable) on a trusted network, or turn TLS on in the server (ssl = on).`
          : `Fix the TLS settings in ${setting} (sslmode, sslrootcert) to match the server's certificate, or the server's TLS set-up.`;
      case 'migrations':
        return `The database was used by a newer planexec: upgrade planexec, or set ${setting} to another ${other}.`;
    }
  }
  if (error instanceof StorageError) {
    switch (error.reason) {
      case 'connection':
        return `Check that the PostgreSQL server runs and can be reached from here (host, port, firewall), or set ${setting} to another database; then start planexec again.`;
      case 'read_only':
        return postgres ? `The server is read-only (a standby?): set ${setting} to the primary.` : `Make the file and its folder writable by this user, or set ${setting} to another file.`;
      case 'full':
        return `Free space where the database lives, or set ${setting} to another ${other}.`;
      case 'corrupt':
        return `Keep a copy of the database for inspection and set ${setting} to a new ${other}.`;
      case 'busy':
        return postgres
          ? `The server is overloaded or has no connection to spare (max_connections): retry shortly, or set ${setting} to another database.`
          : `Another process holds the file's write lock: let it finish, or set ${setting} to another file.`;
      case 'io':
        return `Check the disk and file system where the database lives, or set ${setting} to another ${other}.`;
    }
  }
  return `Check ${setting}, or set it to another ${other}.`;
}
