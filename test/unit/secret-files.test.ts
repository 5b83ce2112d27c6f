// secretFileReason: which workspace paths are withheld as secrets by naming convention alone.
import { describe, expect, it } from 'vitest';
import { secretFileReason } from '../../src/core/secret-files.js';

describe('secretFileReason', () => {
  it.each([
    ['.env', /\.env file/],
    ['apps/web/.env', /\.env file/],
    ['.env.local', /\.env\.\* file/],
    ['.env.production', /\.env\.\* file/],
    ['.envrc', /\.envrc file/],
    ['.ssh/config', /under a \.ssh folder/],
    ['deploy/.ssh/authorized_keys', /under a \.ssh folder/],
    ['.aws/credentials', /under a \.aws folder/],
    ['.gnupg/private-keys-v1.d/x.key', /under a \.gnupg folder/],
    ['.git/config', /under a \.git folder/],
    ['.git', /named \.git/],
    ['.docker/config.json', /under a \.docker folder/],
    ['.kube/config', /under a \.kube folder/],
    ['.azure/accessTokens.json', /under a \.azure folder/],
    ['tls/server.pem', /\.pem file/],
    ['tls/server.key', /\.key file/],
    ['tls/client.p12', /\.p12 file/],
    ['tls/client.pfx', /\.pfx file/],
    ['keys/AuthKey.p8', /\.p8 file/],
    ['keys/putty.ppk', /\.ppk file/],
    ['android/release.jks', /\.jks file/],
    ['android/debug.keystore', /\.keystore file/],
    ['vault.kdbx', /\.kdbx file/],
    ['id_rsa', /SSH private key/],
    ['id_ed25519', /SSH private key/],
    ['keys/id_ecdsa_sk', /SSH private key/],
    ['keys/id_ed25519_github', /SSH private key/],
    ['keys/id_rsa.work', /SSH private key/],
    ['.netrc', /netrc/],
    ['_netrc', /netrc/],
    ['.npmrc', /npm registry tokens/],
    ['.pypirc', /PyPI/],
    ['.pgpass', /PostgreSQL/],
    ['.git-credentials', /credential-store/],
    ['public/.htpasswd', /password hashes/],
    ['CONFIG\\.ENV', /\.env file/],
    ['.SSH/Config', /\.ssh folder/],
    ['./.env', /\.env file/],
  ])('withholds %s', (path, reason) => {
    expect(secretFileReason(path)).toMatch(reason);
  });

  it.each([
    'docs/environment.md',
    'src/env.ts',
    'src/environment/.envoy.yaml',
    '.env.example',
    'config/.env.sample',
    '.env.template',
    'src/keyboard.ts',
    'src/monkey.ts',
    'docs/pem-format.md',
    'src/id_generator.ts',
    'src/id.ts',
    'keys/id_ed25519.pub',
    'keys/id_rsa-cert.pub',
    '.gitignore',
    '.gitattributes',
    '.github/workflows/ci.yml',
    '.ssh-notes.md',
    'my.ssh/readme.md',
    'credentials.ts',
    'npmrc.md',
    'README.md',
  ])('lets %s through', (path) => {
    expect(secretFileReason(path)).toBeNull();
  });
});
