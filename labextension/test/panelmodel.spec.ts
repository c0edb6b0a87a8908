/** The runs panel's pure logic: labels, formatting, key metrics, sorting, diffs. */
import {
  IRunRecord,
  diffRuns,
  formatChange,
  formatDuration,
  formatInputChange,
  formatRerun,
  formatTime,
  formatValue,
  keyMetrics,
  modelBadges,
  rerunOf,
  runLabel,
  sortRuns
} from '../src/panelmodel';

function run(overrides: Partial<IRunRecord>): IRunRecord {
  return {
    id: 'a'.repeat(32),
    short_id: 'aaaaaaaa',
    name: null,
    experiment: 'Default',
    status: 'FINISHED',
    start_time: 1000,
    end_time: 1010,
    duration: 10,
    params: {},
    metrics: {},
    tags: {},
    notebook: '/nb.ipynb',
    badge: '',
    badge_kind: '',
    error: null,
    ...overrides
  };
}

describe('runLabel', () => {
  it('is the name, else the short id', () => {
    expect(runLabel(run({ name: 'baseline' }))).toBe('baseline');
    expect(runLabel(run({ name: null }))).toBe('aaaaaaaa');
    expect(runLabel(run({ name: '' }))).toBe('aaaaaaaa');
  });
});

describe('rerunOf', () => {
  it('is the original run id from the rerun tag, else null', () => {
    expect(rerunOf(run({ tags: { 'nbtrack.rerun_of': 'b'.repeat(32) } }))).toBe('b'.repeat(32));
    expect(rerunOf(run({ tags: { other: 'x' } }))).toBeNull();
    expect(rerunOf(run({ tags: { 'nbtrack.rerun_of': '' } }))).toBeNull();
  });
});

describe('formatValue', () => {
  it.each([
    [3, '3'],
    [0.123456, '0.1235'],
    [-0.09000000000000001, '-0.09'],
    [0.00001234, '1.234e-5'],
    [12345678.9, '1.235e+7'],
    [0, '0'],
    ['NaN', 'NaN'],
    ['<b>x</b>', '<b>x</b>'],
    [true, 'true'],
    [null, 'null'],
    [[1, 'a'], '[1,"a"]'],
    [undefined, '—']
  ])('%p -> %p', (value, text) => {
    expect(formatValue(value as any)).toBe(text);
  });
});

describe('formatDuration', () => {
  it.each([
    [null, '—'],
    [-1, '—'],
    [Infinity, '—'],
    [0.25, '250 ms'],
    [12.34, '12.3 s'],
    [245, '4m 05s'],
    [7380, '2h 03m']
  ])('%p s -> %p', (seconds, text) => {
    expect(formatDuration(seconds as number | null)).toBe(text);
  });
});

describe('formatTime', () => {
  const now = 1_800_000_000_000;
  it('is relative within a day', () => {
    expect(formatTime(now / 1000 - 5, now)).toBe('just now');
    expect(formatTime(now / 1000 - 300, now)).toBe('5 min ago');
    expect(formatTime(now / 1000 - 3 * 3600, now)).toBe('3 h ago');
  });
  it('is a local date and time beyond a day and in the future', () => {
    const old = new Date(2026, 0, 2, 3, 4).getTime() / 1000;
    expect(formatTime(old, now)).toBe('2026-01-02 03:04');
    expect(formatTime(now / 1000 + 3600, now)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d$/);
  });
});

describe('keyMetrics', () => {
  it('takes the keys most runs share, then alphabetical, up to the limit', () => {
    const runs = [
      run({ metrics: { f1: 1, zeta: 1, loss: 1 } }),
      run({ metrics: { f1: 1, loss: 2 } }),
      run({ metrics: { f1: 1, auc: 2 } })
    ];
    expect(keyMetrics(runs)).toEqual(['f1', 'loss', 'auc']);
    expect(keyMetrics(runs, 1)).toEqual(['f1']);
    expect(keyMetrics([])).toEqual([]);
  });
});

describe('sortRuns', () => {
  const a = run({ id: 'a', name: 'beta', start_time: 1, duration: 5, status: 'FAILED' });
  const b = run({ id: 'b', name: 'Alpha', start_time: 2, duration: null, status: 'RUNNING' });
  const c = run({ id: 'c', name: null, short_id: 'cccc', start_time: 3, duration: 1 });
  const ids = (runs: IRunRecord[]) => runs.map(r => r.id);

  it('defaults to newest first and does not mutate its input', () => {
    const input = [a, b, c];
    expect(ids(sortRuns(input))).toEqual(['c', 'b', 'a']);
    expect(ids(input)).toEqual(['a', 'b', 'c']);
  });
  it('sorts by name case-insensitively, using the short id for unnamed runs', () => {
    expect(ids(sortRuns([a, b, c], 'name', 'asc'))).toEqual(['b', 'a', 'c']);
    expect(ids(sortRuns([a, b, c], 'name', 'desc'))).toEqual(['c', 'a', 'b']);
  });
  it('puts runs without a duration last in both directions', () => {
    expect(ids(sortRuns([a, b, c], 'duration', 'desc'))).toEqual(['a', 'c', 'b']);
    expect(ids(sortRuns([a, b, c], 'duration', 'asc'))).toEqual(['c', 'a', 'b']);
  });
  it('breaks ties newest first', () => {
    const d = run({ id: 'd', status: 'FINISHED', start_time: 4 });
    expect(ids(sortRuns([c, d, a, b], 'status', 'asc'))).toEqual(['a', 'd', 'c', 'b']);
  });
});

describe('diffRuns', () => {
  const before = run({ params: { lr: 0.1, model: 'rf', depth: 3 }, metrics: { f1: 0.5, loss: 1 } });
  const after = run({ params: { lr: 0.01, model: 'rf', seed: 7 }, metrics: { f1: 0.75, loss: 1, auc: 0.9 } });

  it('lists added, removed and changed keys only, sorted', () => {
    const diff = diffRuns(before, after);
    expect(diff.params.map(c => [c.key, c.kind])).toEqual([
      ['depth', 'removed'],
      ['lr', 'changed'],
      ['seed', 'added']
    ]);
    expect(diff.metrics.map(c => [c.key, c.kind, c.delta])).toEqual([
      ['auc', 'added', null],
      ['f1', 'changed', 0.25]
    ]);
  });
  it('compares structured values by content and strings without a delta', () => {
    const x = run({ params: { layers: [64, 32], opt: 'adam' } });
    const y = run({ params: { layers: [64, 32], opt: 'sgd' } });
    expect(diffRuns(x, y).params).toEqual([
      { key: 'opt', kind: 'changed', before: 'adam', after: 'sgd', delta: null }
    ]);
  });
  it('compares data inputs by fingerprint, tolerating records without inputs', () => {
    const x = run({ inputs: { X: 'ndarray 6x2 float64 · aaaaaaaaaaaa', y: 'ndarray 6 int64 · bbbbbbbbbbbb' } });
    const y = run({ inputs: { X: 'ndarray 7x2 float64 · cccccccccccc', y: 'ndarray 6 int64 · bbbbbbbbbbbb' } });
    const changes = diffRuns(x, y).inputs;
    expect(changes.map(c => [c.key, c.kind])).toEqual([['X', 'changed']]);
    expect(formatInputChange(changes[0])).toBe('X: different data (ndarray 7x2 float64 · cccccccccccc)');
    expect(formatInputChange(diffRuns(run({}), y).inputs[0])).toBe('X: (new) ndarray 7x2 float64 · cccccccccccc');
    expect(diffRuns(run({}), run({})).inputs).toEqual([]);
  });
  it('treats every key of a first run as added', () => {
    expect(diffRuns(null, after).params.every(c => c.kind === 'added')).toBe(true);
  });
  it('formats each kind of change as one line', () => {
    const [depth, lr, seed] = diffRuns(before, after).params;
    expect(formatChange(depth)).toBe('depth: 3 (gone)');
    expect(formatChange(lr)).toBe('lr: 0.1 → 0.01 (-0.09)');
    expect(formatChange(seed)).toBe('seed: (new) 7');
  });
});

describe('formatRerun', () => {
  const base = {
    original: 'a'.repeat(32),
    verified: true,
    reasons: [],
    differing: [],
    match: 'b'.repeat(32),
    runs: ['b'.repeat(32)],
    error: null,
    exit_code: 0
  };
  it('names the matching run when verified', () => {
    expect(formatRerun(base)).toBe('Reproduced in a fresh kernel: verified by run bbbbbbbb.');
  });
  it('gives the reasons otherwise, else the execution error', () => {
    expect(formatRerun({ ...base, verified: false, reasons: ['differs: metrics.f1'], exit_code: 1 })).toBe(
      'Not reproduced: differs: metrics.f1.'
    );
    expect(formatRerun({ ...base, verified: false, error: 'cell 2 raised', exit_code: 1 })).toBe(
      'Not reproduced: cell 2 raised.'
    );
  });
});

describe('modelBadges', () => {
  it('lists Production first, then Staging, None and Archived, and says the stage', () => {
    const badges = modelBadges(
      run({
        models: [
          { name: 'b', version: 1, stage: 'Archived' },
          { name: 'a', version: 3, stage: 'None' },
          { name: 'churn', version: 2, stage: 'Production' },
          { name: 'a', version: 2, stage: 'Staging' }
        ]
      })
    );
    expect(badges.map(b => b.text)).toEqual(['churn v2 · Production', 'a v2 · Staging', 'a v3', 'b v1 · Archived']);
    expect(badges.map(b => b.stage)).toEqual(['production', 'staging', 'none', 'archived']);
    expect(badges[0].title).toBe('Registered as model churn, version 2 (stage Production)');
  });

  it('has nothing for runs without versions or from older servers', () => {
    expect(modelBadges(run({}))).toEqual([]);
    expect(modelBadges(run({ models: [] }))).toEqual([]);
  });

  it('keeps hostile names as text and an unknown stage unstyled', () => {
    const [badge] = modelBadges(run({ models: [{ name: '<img src=x>', version: 1, stage: 'Weird' }] }));
    expect(badge.text).toBe('<img src=x> v1 · Weird');
    expect(badge.stage).toBe('none');
  });
});
