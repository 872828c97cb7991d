import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A certificate and its key, as files. */
export interface KeyPair {
  cert: string;
  key: string;
}

/** Every certificate and key the test control plane needs, made by openssl in one directory. */
export interface Certificates {
  ca: KeyPair;
  apiserver: KeyPair;
  admin: KeyPair;
  controllerManager: KeyPair;
  scheduler: KeyPair;
  frontProxyCa: KeyPair;
  frontProxyClient: KeyPair;
  serviceAccount: { key: string; pub: string };
}

const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });

// P-256 keys: generated in milliseconds, accepted by every component (and ES256 for service-account tokens).
const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string, cn: string): KeyPair {
  const pair = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  openssl(dir, [
    'req',
    '-x509',
    ...newKey,
    '-keyout',
    pair.key,
    '-out',
    pair.cert,
    '-days',
    '7',
    '-subj',
    `/CN=${cn}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  return pair;
}

function makeLeaf(dir: string, ca: KeyPair, name: string, subject: string, ext: string): KeyPair {
  const pair = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  const csr = path.join(dir, `${name}.csr`);
  const extFile = path.join(dir, `${name}.ext`);
  fs.writeFileSync(extFile, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n${ext}\n`);
  openssl(dir, ['req', ...newKey, '-keyout', pair.key, '-out', csr, '-subj', subject]);
  openssl(dir, ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', pair.cert, '-days', '7', '-extfile', extFile]);
  return pair;
}

/** Writes the control plane's PKI into `dir`: a cluster CA, a front-proxy CA, their leaves, a service-account key. */
export function writeCertificates(dir: string): Certificates {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = makeCa(dir, 'ca', 'mlops-test-ca');
  const frontProxyCa = makeCa(dir, 'front-proxy-ca', 'mlops-test-front-proxy-ca');
  const client = 'extendedKeyUsage=clientAuth';
  const sans = [
    'IP:127.0.0.1',
    'IP:10.96.0.1',
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
  ];
  const serviceAccount = { key: path.join(dir, 'sa.key'), pub: path.join(dir, 'sa.pub') };
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', serviceAccount.key]);
  openssl(dir, ['ec', '-in', serviceAccount.key, '-pubout', '-out', serviceAccount.pub]);
  return {
    ca,
    frontProxyCa,
    apiserver: makeLeaf(dir, ca, 'apiserver', '/CN=kube-apiserver', `extendedKeyUsage=serverAuth\nsubjectAltName=${sans.join(',')}`),
    admin: makeLeaf(dir, ca, 'admin', '/O=system:masters/CN=kubernetes-admin', client),
    // The bootstrap RBAC roles bind these user names; the controller-manager's controllers then act as their own service accounts.
    controllerManager: makeLeaf(dir, ca, 'controller-manager', '/CN=system:kube-controller-manager', client),
    scheduler: makeLeaf(dir, ca, 'scheduler', '/CN=system:kube-scheduler', client),
    frontProxyClient: makeLeaf(dir, frontProxyCa, 'front-proxy-client', '/CN=front-proxy-client', client),
    serviceAccount,
  };
}
