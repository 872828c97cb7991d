/**
 * The project's own runtime images, pinned per release. CI publishes them to ECR (see the stacks) with
 * immutable tags; environments may pin a digest on top.
 */
export const RUNTIME_IMAGE_TAG = '0.1.0';
export const trackingImage = (registry: string): string => `${registry}/mlops-blueprint/tracking:${RUNTIME_IMAGE_TAG}`;
export const inferenceImage = (registry: string): string => `${registry}/mlops-blueprint/inference:${RUNTIME_IMAGE_TAG}`;
