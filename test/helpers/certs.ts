/**
 * A throwaway certificate authority for tests that need real TLS on loopback (SMTP STARTTLS and
 * implicit TLS, mutual TLS for Lopende Zaken). Every call makes a fresh CA with `openssl`, so a
 * test that needs an *untrusted* server simply calls it twice and mixes the results.
 *
 * Stable API (other suites depend on it):
 * - `caPem`: the CA certificate, to trust (`tls.ca`).
 * - `serverKeyPem` / `serverCertPem`: CN `localhost`, SAN `DNS:localhost, IP:127.0.0.1`,
 *   extendedKeyUsage serverAuth, signed by the CA.
 * - `clientKeyPem` / `clientCertPem`: CN `koppel-test-client` (or `clientCommonName`),
 *   extendedKeyUsage clientAuth, signed by the CA.
 * All keys are RSA 2048 (PKCS#8 PEM), so they also serve XML signing and DKIM; certificates are valid
 * from now for `days` days (default 30).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  readonly caPem: string;
  readonly caKeyPem: string;
  readonly serverKeyPem: string;
  readonly serverCertPem: string;
  readonly clientKeyPem: string;
  readonly clientCertPem: string;
}

export interface TestCaOptions {
  readonly days?: number;
  readonly clientCommonName?: string;
}

export function makeTestCa(options: TestCaOptions = {}): TestCa {
  const days = String(options.days ?? 30);
  const dir = mkdtempSync(join(tmpdir(), 'koppel-ca-'));
  const file = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  try {
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', file('ca.key'));
    openssl(
      'req',
      '-x509',
      '-new',
      '-key',
      file('ca.key'),
      '-sha256',
      '-days',
      days,
      '-subj',
      '/CN=Koppel Test CA',
      '-out',
      file('ca.pem'),
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
    issue('server', '/CN=localhost', [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ]);
    issue('client', `/CN=${options.clientCommonName ?? 'koppel-test-client'}`, [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=clientAuth',
    ]);
    const read = (name: string): string => readFileSync(file(name), 'utf8');
    return {
      caPem: read('ca.pem'),
      caKeyPem: read('ca.key'),
      serverKeyPem: read('server.key'),
      serverCertPem: read('server.pem'),
      clientKeyPem: read('client.key'),
      clientCertPem: read('client.pem'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  function issue(name: string, subject: string, extensions: readonly string[]): void {
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', file(`${name}.key`));
    openssl('req', '-new', '-key', file(`${name}.key`), '-subj', subject, '-out', file(`${name}.csr`));
    writeFileSync(file(`${name}.ext`), extensions.join('\n') + '\n');
    openssl(
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-set_serial',
      `0x${Date.now().toString(16)}${name === 'server' ? '01' : '02'}`,
      '-days',
      days,
      '-sha256',
      '-extfile',
      file(`${name}.ext`),
      '-out',
      file(`${name}.pem`),
    );
  }
}
