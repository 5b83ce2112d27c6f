// Secrets out of every text that leaves planexec: the configured secret values themselves (an API
// key, a bearer token), and what looks like one (sk-/sess-/rk- keys, a Bearer credential), as
// provider messages sometimes quote them ("Incorrect API key provided: sk-ab***yz", or a proxy that
// echoes the Authorization header).

const KEY_LIKE = /(?<![A-Za-z0-9])(sk|sess|rk)-[A-Za-z0-9_*-]{3,}/g;
const BEARER = /\b(Bearer)\s+[^\s"',;)}\]]{4,}/gi;

/**
 * `text` with every occurrence of the given secret values (4 characters or longer) replaced by
 * "[redacted]", then key-shaped tokens cut to their prefix ("sk-***") and Bearer credentials masked.
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out.replace(KEY_LIKE, '$1-***').replace(BEARER, '$1 [redacted]');
}
