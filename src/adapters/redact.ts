// Secrets out of every text that leaves planexec: the configured secret values themselves (an API
// key, a bearer token), and what looks like one (sk-/sess-/rk- keys, a Bearer credential, a password
// in a URL), as provider messages sometimes quote them ("Incorrect API key provided: sk-ab***yz", or
// a proxy that echoes the Authorization header).

const KEY_LIKE = /(?<![A-Za-z0-9])(sk|sess|rk)-[A-Za-z0-9_*-]{3,}/g;
// A Bearer credential is RFC 6750's b64token (letters, digits, -._~+/ then any =). Requiring 8 or more
// characters with a digit among them keeps prose ("Bearer authentication") and code that builds the
// header (`Bearer ${token}`, "Bearer " + token) intact in the outputs that go through here.
const BEARER = /\b(Bearer)\s+(?=[A-Za-z0-9._~+/-]*[0-9])[A-Za-z0-9._~+/-]{8,}=*/gi;
// user:password in a URL (https://user:token@proxy/v1); a bare user (ssh://git@host) is no secret.
// The password runs to the LAST '@' before whitespace, a '/' or a quote: a password may hold '@'
// (https://u:p@ss@host), and stopping at the first would leave the rest of it in view.
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:"]+:[^\s/"]+@/gi;

/**
 * `text` with every occurrence of the given secret values (4 characters or longer, the longest first
 * so no part of a longer secret survives a shorter one) replaced by "[redacted]", then credentials
 * in URLs and Bearer credentials masked and key-shaped tokens cut to their prefix ("sk-***").
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out.replace(URL_CREDENTIALS, '$1[redacted]@').replace(BEARER, '$1 [redacted]').replace(KEY_LIKE, '$1-***');
}

/**
 * A function that redacts `secrets` (see redactSecrets) from any text: the one redactor the
 * composition root hands to the logger, the core (stored error texts) and the MCP server (every
 * message sent, every stored task result). A secret is also masked in its JSON-escaped form (a value
 * with a quote or backslash, as it appears inside a JSON log line).
 */
export function secretRedactor(secrets: readonly string[]): (text: string) => string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  const sorted = [...forms].sort((a, b) => b.length - a.length);
  return (text) => redactSecrets(text, sorted);
}
