/**
 * The TLS settings clients are served with, read from the configured PEM files. Read again on
 * every reload (cert-reloader.ts), so a renewed certificate needs no restart.
 *
 * Client certificates (--tls-client-auth):
 * - none: none is asked for;
 * - optional: one is asked for; a client without one, or with one the CA did not sign, still
 *   connects and is just not an x509 identity (only a verified certificate names one);
 * - required: the handshake fails for a client without a certificate the CA signed.
 */
import { readFileSync } from 'node:fs';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { Config } from '../config.ts';

export type TlsFiles = Pick<Config, 'tlsCert' | 'tlsKey' | 'tlsCa' | 'tlsClientAuth'>;

export function tlsEnabled(config: Pick<TlsFiles, 'tlsCert'>): boolean {
  return config.tlsCert !== '';
}

/** The key pair and CA as a secure context's options (what setSecureContext takes); throws if a file cannot be read. */
export function secureContextOptionsOf(config: TlsFiles): SecureContextOptions {
  return {
    cert: readFileSync(config.tlsCert),
    key: readFileSync(config.tlsKey),
    ...(config.tlsCa === '' ? {} : { ca: readFileSync(config.tlsCa) }),
  };
}

/** Whether the server asks for a client certificate and whether it refuses the handshake without a verified one. */
export function clientAuthOptionsOf(config: TlsFiles): Pick<TlsOptions, 'requestCert' | 'rejectUnauthorized'> {
  switch (config.tlsClientAuth) {
    case 'none':
      return { requestCert: false, rejectUnauthorized: false };
    case 'optional':
      return { requestCert: true, rejectUnauthorized: false };
    case 'required':
      return { requestCert: true, rejectUnauthorized: true };
  }
}

/** Everything a TLS server is created with: the secure context's options and the client-auth policy. */
export function serverTlsOptionsOf(config: TlsFiles): TlsOptions {
  return {
    ...secureContextOptionsOf(config),
    ...clientAuthOptionsOf(config),
    // TLS 1.2 is the floor: what every supported browser, curl and ZooKeeper client speaks.
    minVersion: 'TLSv1.2',
  };
}
