import { ARTIFACT_PATH_LIMITS, formatArtifactLocation, isWithin, parseArtifactLocation, safeArtifactPath } from '../../runtime/tracking/artifacts';

// The canonical form every containment decision is made on (runtime/tracking/artifacts/locations.ts).
describe('artifact locations', () => {
  const canon = (uri: string) => formatArtifactLocation(parseArtifactLocation(uri));

  test('one canonical form per place', () => {
    expect(canon('/srv/mlruns/')).toBe('file:///srv/mlruns');
    expect(canon('file:///srv//mlruns')).toBe('file:///srv/mlruns');
    expect(canon('FILE://localhost/srv/mlruns')).toBe('file:///srv/mlruns');
    expect(canon('file:///srv/my%20runs')).toBe('file:///srv/my%20runs');
    expect(canon('S3://bucket/a/b/')).toBe('s3://bucket/a/b');
    expect(canon('mlflow-artifacts://tracking:5000/team/x')).toBe('mlflow-artifacts:/team/x');
    expect(canon('mlflow-artifacts:/')).toBe('mlflow-artifacts:/');
  });

  test.each([
    'file:///etc?x',
    'file:///etc#x',
    'file:///etc/?',
    's3://bkt/x?',
    's3://bkt/x;type=a',
    'file:///srv/../etc',
    'file:///srv/%2e%2e/etc',
    'file:///srv/%252e%252e/etc',
    'file:///srv/a%2fb',
    'file:///srv/./x',
    'file://evil.example/etc',
    'file:relative',
    '/srv/a\\b',
    'relative/dir',
    's3://bkt//x',
    's3://bkt/%2e%2e/x',
    's3://BKT/x',
    's3://b..c/x',
    'mlflow-artifacts:/../x',
    'mlflow-artifacts:/%2e%2e/x',
    'mlflow-artifacts:/a//b',
    'runs:/abc/artifacts',
    'http://host/x',
    'file:///<2,100 characters>',
  ])('%s is refused with 400', (written) => {
    const uri = written.replace('<2,100 characters>', 'a'.repeat(2100));
    expect(() => parseArtifactLocation(uri)).toThrow(expect.objectContaining({ errorCode: 'INVALID_PARAMETER_VALUE' }));
  });

  test('containment is by whole segments, within one scheme and bucket', () => {
    const p = (u: string) => parseArtifactLocation(u);
    expect(isWithin(p('s3://bkt/prefix/x'), p('s3://bkt/prefix'))).toBe(true);
    expect(isWithin(p('s3://bkt/prefix-evil/x'), p('s3://bkt/prefix'))).toBe(false);
    expect(isWithin(p('s3://other/prefix/x'), p('s3://bkt/prefix'))).toBe(false);
    expect(isWithin(p('/srv/x'), p('file:///srv'))).toBe(true);
    expect(isWithin(p('file:///srv'), p('file:///srv'), true)).toBe(false);
    expect(isWithin(p('mlflow-artifacts:/srv/x'), p('file:///srv'))).toBe(false);
  });

  test('artifact paths: caps in UTF-8 bytes, segments and depth', () => {
    expect(safeArtifactPath(`${'a'.repeat(255)}/b`)).toBe(`${'a'.repeat(255)}/b`);
    expect(() => safeArtifactPath('a'.repeat(256))).toThrow(/at most 255 bytes/);
    expect(() => safeArtifactPath('é'.repeat(128))).toThrow(/at most 255 bytes/);
    expect(() =>
      safeArtifactPath(
        Array(ARTIFACT_PATH_LIMITS.maxSegments + 1)
          .fill('x')
          .join('/'),
      ),
    ).toThrow(/at most 64 segments/);
    expect(() => safeArtifactPath(Array(5).fill('y'.repeat(250)).join('/'))).toThrow(/at most 1024 bytes/);
    expect(() => safeArtifactPath('%61'.repeat(2000))).toThrow(/at most 1024 bytes/);
  });
});
