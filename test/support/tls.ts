// A throwaway certificate authority and a server certificate for 127.0.0.1 and localhost, made
// with the openssl command line (Debian's `openssl` package) in a temporary directory, so HTTPS
// tests exercise real chain and name checks instead of turning verification off.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestPki {
  readonly dir: string;
  /** PEM of the CA certificate: what a client must trust. */
  readonly caCert: string;
  /** Paths of the server's certificate and key, as `tlsCert`/`tlsKey` take them. */
  readonly certPath: string;
  readonly keyPath: string;
  cleanup(): Promise<void>;
}

export async function createTestPki(names: { dns?: readonly string[]; ips?: readonly string[] } = {}): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'openwsus-tls-'));
  const path = (name: string): string => join(dir, name);
  const dns = names.dns ?? ['localhost'];
  const ips = names.ips ?? ['127.0.0.1'];
  try {
    const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await run('openssl', [
      'req', '-x509', ...key, '-keyout', path('ca.key'), '-out', path('ca.pem'), '-days', '2',
      '-subj', '/CN=openwsus test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await run('openssl', ['req', '-new', ...key, '-keyout', path('server.key'), '-out', path('server.csr'), '-subj', `/CN=${dns[0] ?? ips[0]}`]);
    const altNames = [...dns.map((d) => `DNS:${d}`), ...ips.map((ip) => `IP:${ip}`)].join(',');
    await writeFile(
      path('server.ext'),
      [
        `subjectAltName=${altNames}`,
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        '',
      ].join('\n'),
    );
    await run('openssl', [
      'x509', '-req', '-in', path('server.csr'), '-CA', path('ca.pem'), '-CAkey', path('ca.key'),
      '-CAcreateserial', '-days', '2', '-sha256', '-extfile', path('server.ext'), '-out', path('server.pem'),
    ]);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`openssl could not make the test certificates (is Debian's openssl installed?): ${(error as Error).message}`, { cause: error });
  }
  return {
    dir,
    caCert: await readFile(path('ca.pem'), 'utf8'),
    certPath: path('server.pem'),
    keyPath: path('server.key'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
