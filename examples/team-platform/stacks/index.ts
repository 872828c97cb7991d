/* The Pulumi program (`pulumi up -s team-prod`): the blueprint's stack with the team's environment and extensions. */
import { defineStack } from 'mlops-blueprint/stacks';
import { teamProd } from '../environments/team-prod';
import { extensions } from '../constructs/team-ingress';

const { outputs } = defineStack(undefined, undefined, { environment: teamProd, extensions });

export const trackingUrl = outputs.trackingUrl;
export const inferenceUrls = outputs.inferenceUrls;
export const adminUser = outputs.adminUser;
