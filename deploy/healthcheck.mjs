// The image's HEALTHCHECK: exit 0 when this container's node answers GET /readyz with 200, else 1.
// Plain JavaScript on Node's built-ins, as the image has no curl and no tsx. It finds the node the
// way deploy/entrypoint.sh starts it (the HEALTHCHECK runs beside the node, not under the
// entrypoint, so it sees the container's environment, not the one the entrypoint exported).
//
// With TLS it does not verify the certificate: it asks its own container over the address the
// node binds, which the certificate need not name, and it sends no credentials and reads only a
// status code. A node started with --tls-client-auth required refuses it, as it refuses the
// kubelet's probes (docs/operations.md).
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const TIMEOUT_MS = 2500;
const env = process.env;
const bind = env.CORRAL_HOST || env.POD_IP || '127.0.0.1';
// A wildcard address is not one to connect to; the node listens on loopback too then.
const host = bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind;
const port = Number(env.CORRAL_PORT || 8181);
const tls = Boolean(env.CORRAL_TLS_CERT) || existsSync(`${env.CORRAL_TLS_DIR || '/etc/corral/tls'}/tls.crt`);
const request = tls ? httpsRequest : httpRequest;

const req = request({ host, port, path: '/readyz', method: 'GET', timeout: TIMEOUT_MS, rejectUnauthorized: false }, (res) => {
  res.resume();
  process.stdout.write(`readyz: ${res.statusCode}\n`);
  process.exitCode = res.statusCode === 200 ? 0 : 1;
});
req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
req.on('error', (error) => {
  process.stdout.write(`readyz: ${error.message}\n`);
  process.exitCode = 1;
});
req.end();
