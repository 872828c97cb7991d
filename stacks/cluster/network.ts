import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { subnetPlan } from './cidr';

export interface NetworkArgs {
  /** EKS cluster name: subnets are tagged `kubernetes.io/cluster/<name>` for its load balancers. */
  clusterName: string;
  /** VPC range, e.g. `10.30.0.0/16` (at least a /22). */
  cidr: string;
  /** Availability zones to spread the subnets over (first N available zones of the region). */
  availabilityZones: number;
  /**
   * One NAT gateway per zone, so losing a zone does not cut the others' egress; `false` shares one.
   * Default: true.
   */
  natGatewayPerZone?: boolean;
}

/**
 * The VPC: private subnets across zones for nodes, pods and the database (egress through NAT), small
 * public subnets for the NAT gateways and internet-facing load balancers.
 */
export class Network extends pulumi.ComponentResource {
  readonly vpc: aws.ec2.Vpc;
  readonly vpcId: pulumi.Output<string>;
  readonly cidr: string;
  readonly privateSubnets: aws.ec2.Subnet[];
  readonly publicSubnets: aws.ec2.Subnet[];
  readonly privateSubnetIds: pulumi.Output<string>[];
  readonly publicSubnetIds: pulumi.Output<string>[];

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mlops:aws:Network', name, {}, opts);
    const parent = { parent: this };
    const plan = subnetPlan(args.cidr, args.availabilityZones);
    const perZone = args.natGatewayPerZone ?? true;
    this.cidr = args.cidr;

    const zones = aws.getAvailabilityZonesOutput({ state: 'available', filters: [{ name: 'opt-in-status', values: ['opt-in-not-required'] }] }, parent);
    const zone = (i: number) =>
      zones.names.apply((names) => {
        if (names.length <= i) throw new Error(`the region has ${names.length} available zones; availabilityZones asks for ${args.availabilityZones}`);
        return names[i];
      });

    this.vpc = new aws.ec2.Vpc(name, { cidrBlock: args.cidr, enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: name } }, parent);
    this.vpcId = this.vpc.id;
    const clusterTag = { [`kubernetes.io/cluster/${args.clusterName}`]: 'shared' };

    const igw = new aws.ec2.InternetGateway(name, { vpcId: this.vpc.id, tags: { Name: name } }, parent);
    const publicRoutes = new aws.ec2.RouteTable(`${name}-public`, { vpcId: this.vpc.id, tags: { Name: `${name}-public` } }, parent);
    new aws.ec2.Route(`${name}-public-default`, { routeTableId: publicRoutes.id, destinationCidrBlock: '0.0.0.0/0', gatewayId: igw.id }, parent);

    this.publicSubnets = plan.public.map((cidrBlock, i) => {
      const subnet = new aws.ec2.Subnet(
        `${name}-public-${i}`,
        {
          vpcId: this.vpc.id,
          cidrBlock,
          availabilityZone: zone(i),
          // Nothing is launched here with a public address by default; load balancers get their own.
          mapPublicIpOnLaunch: false,
          tags: { Name: `${name}-public-${i}`, 'kubernetes.io/role/elb': '1', ...clusterTag },
        },
        parent,
      );
      new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: subnet.id, routeTableId: publicRoutes.id }, parent);
      return subnet;
    });

    const natCount = perZone ? plan.public.length : 1;
    const nats = Array.from({ length: natCount }, (_, i) => {
      const eip = new aws.ec2.Eip(`${name}-nat-${i}`, { domain: 'vpc', tags: { Name: `${name}-nat-${i}` } }, parent);
      return new aws.ec2.NatGateway(
        `${name}-nat-${i}`,
        { allocationId: eip.id, subnetId: this.publicSubnets[i].id, tags: { Name: `${name}-nat-${i}` } },
        { parent: this, dependsOn: [igw] },
      );
    });

    this.privateSubnets = plan.private.map((cidrBlock, i) => {
      const subnet = new aws.ec2.Subnet(
        `${name}-private-${i}`,
        {
          vpcId: this.vpc.id,
          cidrBlock,
          availabilityZone: zone(i),
          mapPublicIpOnLaunch: false,
          tags: { Name: `${name}-private-${i}`, 'kubernetes.io/role/internal-elb': '1', ...clusterTag },
        },
        parent,
      );
      const routes = new aws.ec2.RouteTable(`${name}-private-${i}`, { vpcId: this.vpc.id, tags: { Name: `${name}-private-${i}` } }, parent);
      new aws.ec2.Route(
        `${name}-private-${i}-default`,
        { routeTableId: routes.id, destinationCidrBlock: '0.0.0.0/0', natGatewayId: nats[perZone ? i : 0].id },
        parent,
      );
      new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: subnet.id, routeTableId: routes.id }, parent);
      return subnet;
    });

    this.privateSubnetIds = this.privateSubnets.map((s) => s.id);
    this.publicSubnetIds = this.publicSubnets.map((s) => s.id);
    this.registerOutputs({ vpcId: this.vpcId, privateSubnetIds: this.privateSubnetIds, publicSubnetIds: this.publicSubnetIds });
  }
}
