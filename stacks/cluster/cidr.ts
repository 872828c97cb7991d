/** IPv4 CIDR arithmetic for carving subnets out of the VPC range (Terraform's `cidrsubnet`). */

function ipToInt(ip: string): number {
  const octets = ip.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) throw new Error(`"${ip}" is not an IPv4 address`);
  return octets.reduce((acc, o) => acc * 256 + o, 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export function parseCidr(cidr: string): { base: number; prefix: number } {
  const [ip, len] = cidr.split('/');
  const prefix = Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`"${cidr}" is not an IPv4 CIDR block`);
  const size = 2 ** (32 - prefix);
  // Normalise host bits away, as AWS does.
  return { base: Math.floor(ipToInt(ip) / size) * size, prefix };
}

/** The `netnum`-th block of `newbits` more prefix bits inside `cidr`: cidrSubnet('10.0.0.0/16', 3, 1) = '10.0.32.0/19'. */
export function cidrSubnet(cidr: string, newbits: number, netnum: number): string {
  const { base, prefix } = parseCidr(cidr);
  const newPrefix = prefix + newbits;
  if (newPrefix > 32) throw new Error(`cannot split ${cidr} by ${newbits} more bits`);
  if (!Number.isInteger(netnum) || netnum < 0 || netnum >= 2 ** newbits) throw new Error(`${cidr} has no subnet number ${netnum} at /${newPrefix}`);
  return `${intToIp(base + netnum * 2 ** (32 - newPrefix))}/${newPrefix}`;
}

/**
 * The subnet plan of the VPC: the range is cut in eight; the first six eighths are the private subnets
 * (one per AZ, where nodes, pods and RDS live: the VPC CNI gives every pod a VPC address, so they get
 * the space), and the last eighth is cut in eight again for the small public subnets (NAT gateways,
 * internet-facing load balancers). A /16 gives /19 private and /22 public subnets.
 */
export function subnetPlan(vpcCidr: string, zones: number): { private: string[]; public: string[] } {
  const { prefix } = parseCidr(vpcCidr);
  if (prefix > 22) throw new Error(`vpcCidr ${vpcCidr} is too small: use a /22 or larger range (a /16 is recommended for EKS)`);
  if (zones < 1 || zones > 6) throw new Error(`availabilityZones must be between 1 and 6, got ${zones}`);
  const publicBlock = cidrSubnet(vpcCidr, 3, 7);
  return {
    private: Array.from({ length: zones }, (_, i) => cidrSubnet(vpcCidr, 3, i)),
    public: Array.from({ length: zones }, (_, i) => cidrSubnet(publicBlock, 3, i)),
  };
}
