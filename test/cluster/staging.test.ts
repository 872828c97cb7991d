import { environmentSuite } from './environment-suite';

// One control plane per suite file: the environments share namespace names.
environmentSuite('staging');
