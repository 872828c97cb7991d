import { parseFilter, parseOrderBy } from '../../runtime/tracking/search/filter';
import { safeArtifactPath } from '../../runtime/tracking/artifacts/paths';
import { normpath } from '../../runtime/tracking/http/validation';
import { runFilterPredicates } from '../../runtime/tracking/search/runs';

describe('search filter parser (MLflow DSL)', () => {
  test('comparisons, entity aliases, quoting and IN lists', () => {
    expect(parseFilter("metrics.acc > 0.9 AND params.lr = '0.01' and tags.`team name` LIKE 'ml-%' AND attr.run_id IN ('a', 'b')")).toEqual([
      { type: 'metric', key: 'acc', comparator: '>', value: 0.9 },
      { type: 'param', key: 'lr', comparator: '=', value: '0.01' },
      { type: 'tag', key: 'team name', comparator: 'LIKE', value: 'ml-%' },
      { type: 'attribute', key: 'run_id', comparator: 'IN', value: ['a', 'b'] },
    ]);
    expect(parseFilter('tags.mlflow.runName = "x" AND params."a b" != \'it\'\'s\' AND metric.loss <= -1e-3')).toEqual([
      { type: 'tag', key: 'mlflow.runName', comparator: '=', value: 'x' },
      { type: 'param', key: 'a b', comparator: '!=', value: "it's" },
      { type: 'metric', key: 'loss', comparator: '<=', value: -0.001 },
    ]);
    expect(parseFilter('params.x IS NULL and tags.y is not null')).toEqual([
      { type: 'param', key: 'x', comparator: 'IS NULL', value: null },
      { type: 'tag', key: 'y', comparator: 'IS NOT NULL', value: null },
    ]);
    expect(parseFilter('')).toEqual([]);
    expect(parseFilter("name LIKE 'x%'", { allowBareAttributes: true })).toEqual([{ type: 'attribute', key: 'name', comparator: 'LIKE', value: 'x%' }]);
  });

  test.each([
    "params.lr = '0.01' OR 1=1",
    "foo.bar = 'x'",
    "run_id = 'x'",
    "params.lr = '0.01",
    'metrics.acc >',
    "params.lr = '1'; DROP TABLE runs",
    "attributes.run_id IN 'a'",
    'metrics.acc > 1 AND',
  ])('rejects %p with INVALID_PARAMETER_VALUE', (filter) => {
    expect(() => parseFilter(filter)).toThrow(expect.objectContaining({ errorCode: 'INVALID_PARAMETER_VALUE' }));
  });

  // Attribute names index tables of columns: an inherited name must be an unknown key (400), not a TypeError (500)
  // for `constructor` nor a numeric attribute for `toString`.
  test.each(['attributes.constructor = 1', "attributes.toString = 'x'", "attributes.__proto__ = 'x'", 'attributes.hasOwnProperty > 0'])(
    'rejects the inherited attribute name in %p',
    (filter) => {
      expect(() => runFilterPredicates(parseFilter(filter))).toThrow(expect.objectContaining({ errorCode: 'INVALID_PARAMETER_VALUE' }));
    },
  );

  test('order_by clauses', () => {
    expect(parseOrderBy('metrics.`val loss` DESC')).toEqual({ type: 'metric', key: 'val loss', ascending: false });
    expect(parseOrderBy('start_time')).toEqual({ type: 'attribute', key: 'start_time', ascending: true });
    expect(() => parseOrderBy('metrics.a DESC extra')).toThrow(expect.objectContaining({ errorCode: 'INVALID_PARAMETER_VALUE' }));
  });
});

describe('artifact path safety and key normalisation', () => {
  test.each(['../x', 'a/../../x', '%2e%2e/x', '%252e%252e%252fx', '/etc/passwd', '%2Fetc', 'a\\..\\x', 'C:/x', 'a#b', 'file:///etc/passwd', 'a\u0000b', '%zz'])(
    'rejects %p',
    (p) => {
      expect(() => safeArtifactPath(p)).toThrow(expect.objectContaining({ errorCode: 'INVALID_PARAMETER_VALUE' }));
    },
  );
  test('normalises safe paths', () => {
    expect(safeArtifactPath('a//b/./c/')).toBe('a/b/c');
    expect(safeArtifactPath('dir%20name/f.txt')).toBe('dir name/f.txt');
    expect(safeArtifactPath(undefined)).toBe('');
  });
  test('normpath matches posixpath.normpath', () => {
    expect(normpath('a/./b/')).toBe('a/b');
    expect(normpath('a/../..')).toBe('..');
    expect(normpath('')).toBe('.');
    expect(normpath('/a/../..')).toBe('/');
  });
});
