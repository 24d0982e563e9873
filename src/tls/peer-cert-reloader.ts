/**
 * The members' certificates (--peer-tls-cert/-key/-ca) renewed without a restart, as the client
 * listener's are: the same reloader (cert-reloader.ts: SIGHUP or a change in the files'
 * directories; a bad pair logged and the old one kept), handed to the peer transport's TLS
 * (transport/peer-tls.ts), whose next handshakes, dialed or accepted, use the new pair and CA.
 * Links already up keep the session they negotiated. A renewed certificate that does not name
 * this member's id is refused like a bad pair (the others would refuse it at every handshake).
 */
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate, SecureContextOptions } from 'node:tls';
import type { Config } from '../config.ts';
import type { Logger } from '../observability/logger.ts';
import { CertReloader, type SecureContextTarget } from './cert-reloader.ts';
import { secureContextOptionsOf, type TlsFiles } from './tls-options.ts';
import { memberIdOf } from '../transport/peer-tls.ts';

/** A started reloader of the peer certificate for `target`, or undefined without peer TLS. */
export function peerCertReloader(
  config: Pick<Config, 'id' | 'peerTlsCert' | 'peerTlsKey' | 'peerTlsCa'>, target: SecureContextTarget | undefined, logger: Logger,
): CertReloader | undefined {
  if (config.peerTlsCert === '' || target === undefined) return undefined;
  const files: TlsFiles = { tlsCert: config.peerTlsCert, tlsKey: config.peerTlsKey, tlsCa: config.peerTlsCa, tlsClientAuth: 'required' };
  // The transport read the same files a moment ago: these bytes are what it runs with.
  const reloader = new CertReloader(files, secureContextOptionsOf(files), { logger, scope: 'peer', check: (next) => checkNamesMember(next, config.id) });
  reloader.add(target);
  reloader.watch();
  return reloader;
}

/** Throws unless the new certificate names member `id` (SAN URI:urn:corral:member:<id>). */
function checkNamesMember(next: SecureContextOptions, id: number): void {
  const named = memberIdOf({ subjectaltname: new X509Certificate(next.cert as Buffer).subjectAltName } as PeerCertificate);
  if (named !== id) throw new Error(`the new peer certificate names ${named === undefined ? 'no member' : `member ${named}`}, not this member (${id})`);
}
