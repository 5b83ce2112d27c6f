// The PostgreSQL form of PLANEXEC_DB: telling a URL from a file path, and showing it without its
// password. Kept apart from postgres.ts so the configuration can use it without the store.

/** True for a postgres:// or postgresql:// URL (what selects PostgreSQL in PLANEXEC_DB); anything else is a SQLite file. */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value.trim());
}

// A user name that is certainly no part of a password: no ':' (which would start one) and nothing a
// password written unencoded could bring in ('/', '@', '?', '#').
const PLAIN_USER = /^[^:/@?#\s]*$/;

/**
 * The credentials part of one postgres URL's text `rest` (what follows `scheme://`, up to whitespace):
 * everything before its LAST '@'. A password may hold '/', '@', ':', '?' or '#' unencoded, so the
 * authority's usual end (the first '/', '?' or '#') cannot be trusted; taking the last '@' over-masks
 * a URL whose query holds an '@', which is harmless. null: no '@', no credentials.
 */
function credentialsOf(rest: string): string | null {
  const at = rest.lastIndexOf('@');
  return at < 0 ? null : rest.slice(0, at);
}

/**
 * `text` (a URL, or a message that quotes one) with the password of every postgres:// URL in it
 * replaced by `***`: what logs and messages may show. Each URL runs to the next whitespace, and
 * everything between `scheme://` and its last '@' is masked except a plain user name
 * (postgres://planexec:***@db:5432/x); credentials that are not `user:password` are masked whole
 * (postgres://***@db/x), and a bare user (postgres://planexec@db/x) is kept. `whole`: `text` is one
 * URL (a setting's value), so it runs to the end even through whitespace (a password may hold a
 * space). Pure.
 */
export function maskPostgresUrl(text: string, opts: { whole?: boolean } = {}): string {
  const url = opts.whole ? /^(\s*postgres(?:ql)?:\/\/)([^]*)$/i : /(postgres(?:ql)?:\/\/)(\S*)/gi;
  return text.replace(url, (whole, scheme: string, rest: string) => {
    const credentials = credentialsOf(rest);
    if (credentials === null) return whole;
    const after = rest.slice(credentials.length);
    const colon = credentials.indexOf(':');
    if (colon >= 0 && PLAIN_USER.test(credentials.slice(0, colon))) return `${scheme}${credentials.slice(0, colon)}:***${after}`;
    if (colon < 0 && PLAIN_USER.test(credentials)) return whole;
    return `${scheme}***${after}`;
  });
}

/**
 * The password of a postgres URL in every form it can appear in (all are secrets for the redactor):
 * as written (between the first ':' of the credentials and their last '@', see maskPostgresUrl, so
 * also for a URL that does not parse), as the WHATWG URL parser reads it, and each percent-decoded.
 * None: [].
 */
export function postgresPassword(url: string): string[] {
  const value = url.trim();
  const forms: string[] = [];
  const rest = /^postgres(?:ql)?:\/\/(.*)$/is.exec(value)?.[1];
  const credentials = rest === undefined ? null : credentialsOf(rest);
  const colon = credentials?.indexOf(':') ?? -1;
  if (credentials && colon >= 0) forms.push(credentials.slice(colon + 1));
  try {
    const parsed = new URL(value);
    if (parsed.password) forms.push(parsed.password);
  } catch {
    // Not a URL: the form as written is all there is.
  }
  for (const form of [...forms]) {
    try {
      forms.push(decodeURIComponent(form));
    } catch {
      // Not valid percent-encoding: the raw form is the one that can appear.
    }
  }
  return [...new Set(forms.filter((f) => f.length > 0))];
}
