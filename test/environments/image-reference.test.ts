import { imageRef } from '../../environments/schema';
import { parseImageReference, splitImageReference } from '../../core/image-reference';
import { imageVersion } from '../../constructs/common';

/*
 * One image-reference grammar (distribution/reference's) for the environment schema, the image lock, the
 * policies and the constructs' version labels.
 */
const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('image references', () => {
  test('split: a registry port is not a tag; tag and digest both kept', () => {
    expect(splitImageReference('localhost:5000/team/app')).toEqual({
      name: 'localhost:5000/team/app',
      path: 'localhost:5000/team/app',
      tag: undefined,
      digest: undefined,
    });
    expect(splitImageReference(`localhost:5000/team/app:1.2@${DIGEST}`)).toEqual({
      name: 'localhost:5000/team/app:1.2',
      path: 'localhost:5000/team/app',
      tag: '1.2',
      digest: DIGEST,
    });
  });

  test.each([
    ['quay.io/minio/mc:RELEASE.1', true],
    ['localhost:5001/mlops-blueprint/tracking:0.1.0', true],
    ['registry.example.com/a__b/c--d:1', true], // separators distribution accepts
    [`Registry.Example.com/app@${DIGEST}`, true], // registry hosts are case-insensitive DNS names
    ['my_registry.io/app:1', false], // "_" is not in a host name
    ['quay.io/Minio/mc:1', false],
    ['app:', false],
    ['app@sha256:abc', false],
  ])('the schema accepts %s exactly when the parser does (%s)', (ref, valid) => {
    expect(imageRef.safeParse(ref).success).toBe(valid);
    if (valid) expect(() => parseImageReference(ref)).not.toThrow();
    else expect(() => parseImageReference(ref)).toThrow();
  });

  test('the schema still refuses unpinned and latest references, naming why', () => {
    expect(imageRef.safeParse('quay.io/app').error?.issues[0].message).toMatch(/must be pinned with a tag or a digest/);
    expect(imageRef.safeParse('quay.io/app:latest').error?.issues[0].message).toMatch(/mutable tag "latest"/);
    expect(imageRef.safeParse('Quay.io/app/X:1').error?.issues[0].message).toMatch(/is not an image reference/);
  });

  test("version labels: the tag, else the digest's first 12 hex digits", () => {
    expect(imageVersion('localhost:5000/app:1.2.3')).toBe('1.2.3');
    expect(imageVersion(`quay.io/app@${DIGEST}`)).toBe('a'.repeat(12));
    expect(imageVersion(`quay.io/app:v7@${DIGEST}`)).toBe('v7');
  });
});
