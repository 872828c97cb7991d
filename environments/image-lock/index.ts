export { parseImageReference, registryApiHost, type ImageReference } from './reference';
export { DEFAULT_IMAGE_LOCK, formatImageLock, readImageLock, writeImageLock, type ImageLock } from './lock-file';
export { environmentImages, pinImages, resolveImages, unpinnedImages, UnpinnedImagesError, type ImageUse } from './pin';
export { MANIFEST_MEDIA_TYPES, RegistryClient, RegistryError, type RegistryClientOptions, type ResolvedDigest } from './registry-client';
