import type { CredentialVerifier } from './credentials';
import type { PermissionName } from './permissions';
import type { AuthStore } from './store';

/** Live state of basic auth once the server's store is open: the store, the verifier (its cache), the options. */
export interface AuthState {
  store: AuthStore;
  verifier: CredentialVerifier;
  defaultPermission: PermissionName;
  adminUsername: string;
}
