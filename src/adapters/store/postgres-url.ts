// The PostgreSQL form of PLANEXEC_DB: telling a URL from a file path, and showing it without its
// password. Kept apart from postgres.ts so the configuration can use it without the store.

/** True for a postgres:// or postgresql:// URL (what selects PostgreSQL in PLANEXEC_DB); anything else is a SQLite file. */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value.trim());
}

/**
 * `text` (a URL, or a message that quotes one) with the password of every postgres:// URL in it
 * replaced by `***`: what logs and messages may show. Pure.
 */
export function maskPostgresUrl(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^\s/@:]*):[^\s/@]*@/gi, '$1:***@');
}

/** The password of a postgres URL, as written and percent-decoded (both are secrets); none: []. */
export function postgresPassword(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return [];
  }
  if (!parsed.password) return [];
  let decoded = parsed.password;
  try {
    decoded = decodeURIComponent(parsed.password);
  } catch {
    // Not valid percent-encoding: the raw form is the one that can appear.
  }
  return [...new Set([parsed.password, decoded])];
}
