// Which workspace paths hold secrets by convention, so they are not sent to a model unless the user
// opts in (PLANEXEC_ALLOW_SECRET_FILES). Matching is by name only: content is never inspected, and a
// secret kept under an ordinary name is not caught. The point is to stop the common accidents (a
// planner naming `.env` or `~/.ssh/id_rsa`-style files as relevant), not to be a secret scanner.

/**
 * The conventions, in one place. Every list is matched case-insensitively (macOS and Windows
 * workspaces usually are), against path components split on "/" and "\".
 * Sources: OpenSSH ssh-keygen(1) FILES (id_* key names), the AWS CLI, Docker, kubectl, Azure CLI and
 * GnuPG default config folders, dotenv/direnv, netrc(5), npm's and PyPI's rc files, PostgreSQL's
 * pgpass, git-credential-store(1), Apache htpasswd, and the usual key/keystore file extensions.
 */
export const SECRET_FILE_CONVENTIONS = {
  /** Any path component equal to one of these: the folder (or file) and everything under it. */
  folders: {
    '.ssh': 'SSH keys and config',
    '.gnupg': 'GnuPG keys',
    '.aws': 'AWS credentials',
    '.azure': 'Azure CLI tokens',
    '.docker': 'Docker registry credentials',
    '.kube': 'Kubernetes cluster credentials',
    '.git': 'git internals (remote URLs with tokens, credential config, hooks)',
  },
  /** File names matched exactly. */
  names: {
    '.env': 'dotenv environment secrets',
    '.envrc': 'direnv environment secrets',
    '.netrc': 'netrc login passwords',
    _netrc: 'netrc login passwords',
    '.npmrc': 'npm registry tokens',
    '.pypirc': 'PyPI upload tokens',
    '.pgpass': 'PostgreSQL passwords',
    '.git-credentials': 'git credential-store passwords',
    '.htpasswd': 'HTTP password hashes',
  },
  /**
   * `.env.<anything>` (`.env.local`, `.env.production`, …) holds environment secrets, except these
   * names, which by the same convention are committed templates with placeholder values and are
   * worth showing a model (they say which settings exist).
   */
  envPrefix: '.env.',
  envTemplates: ['.env.example', '.env.sample', '.env.template'],
  /** File name endings: private keys, certificate bundles with keys, keystores, password vaults. */
  extensions: {
    '.pem': 'a PEM key or certificate',
    '.key': 'a private key',
    '.p12': 'a PKCS#12 key bundle',
    '.pfx': 'a PKCS#12 key bundle',
    '.p8': 'a PKCS#8 private key',
    '.ppk': 'a PuTTY private key',
    '.jks': 'a Java keystore',
    '.keystore': 'a keystore',
    '.kdbx': 'a KeePass password database',
  },
  /**
   * OpenSSH private key names: `id_<algorithm>`, optionally `_sk` and a suffix people add
   * (`id_ed25519_github`, `id_rsa.work`). A bare `id_*` is not matched, so `id_generator.ts` stays
   * readable; `.pub` keys are public and are not matched either.
   */
  sshKey: /^id_(?:rsa|dsa|ecdsa|ed25519|xmss)(?:_sk)?(?:[._-].*)?$/,
  sshPublicKeySuffix: '.pub',
} as const;

/**
 * Why `path` (workspace-relative, "/" or "\" separated) is withheld as a secret by convention, e.g.
 * "it is under a .ssh folder (SSH keys and config)", or null when no convention matches.
 * Pure string matching: the path need not exist. Throws nothing.
 */
export function secretFileReason(path: string): string | null {
  const c = SECRET_FILE_CONVENTIONS;
  const parts = path
    .toLowerCase()
    .split(/[\\/]/)
    .filter((p) => p !== '' && p !== '.');
  for (const [i, part] of parts.entries()) {
    const folder = (c.folders as Record<string, string>)[part];
    if (folder !== undefined) return i < parts.length - 1 ? `it is under a ${part} folder (${folder})` : `it is named ${part} (${folder})`;
  }
  const name = parts.at(-1);
  if (name === undefined) return null;
  const named = (c.names as Record<string, string>)[name];
  if (named !== undefined) return `it is a ${name} file (${named})`;
  if (name.startsWith(c.envPrefix) && !(c.envTemplates as readonly string[]).includes(name)) {
    return `it is a .env.* file (environment secrets; only ${c.envTemplates.join(', ')} are read as templates)`;
  }
  for (const [ending, what] of Object.entries(c.extensions)) {
    if (name.endsWith(ending)) return `it is a ${ending} file (${what})`;
  }
  if (c.sshKey.test(name) && !name.endsWith(c.sshPublicKeySuffix)) return `it is named like an SSH private key (${name})`;
  return null;
}
