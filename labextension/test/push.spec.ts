import { buildNotebookPush, buildScheduled, cellsToPush } from '../src/push';
import { COMM_TARGET, isRunEnded, PROTOCOL } from '../src/protocol';
import { fakeCell } from './fakes';

const cells = [
  fakeCell('a1', 'code', 'x = 1\nprint(x)', {
    executionCount: 3,
    metadata: { tags: ['parameters'] }
  }),
  fakeCell('m1', 'markdown', '# Title'),
  fakeCell('c2', 'code', 'y = 2', { executionCount: null }),
  fakeCell('r1', 'raw', 'raw text', { metadata: undefined })
];

describe('protocol constants', () => {
  it('match the Python side', () => {
    expect(COMM_TARGET).toBe('nbtrack.notebook');
    expect(PROTOCOL).toBe(1);
  });
});

describe('cellsToPush', () => {
  it('maps cells to nbformat-like dicts without outputs', () => {
    expect(cellsToPush(cells)).toEqual([
      {
        id: 'a1',
        cell_type: 'code',
        source: 'x = 1\nprint(x)',
        metadata: { tags: ['parameters'] },
        execution_count: 3
      },
      {
        id: 'm1',
        cell_type: 'markdown',
        source: '# Title',
        metadata: {},
        execution_count: null
      },
      {
        id: 'c2',
        cell_type: 'code',
        source: 'y = 2',
        metadata: {},
        execution_count: null
      },
      {
        id: 'r1',
        cell_type: 'raw',
        source: 'raw text',
        metadata: {},
        execution_count: null
      }
    ]);
  });

  it('accepts a JupyterLab-style list with length/get(i)', () => {
    const list = { length: cells.length, get: (i: number) => cells[i] };
    expect(cellsToPush(list).map(c => c.id)).toEqual(['a1', 'm1', 'c2', 'r1']);
  });

  it('never serializes outputs', () => {
    expect(JSON.stringify(cellsToPush(cells))).not.toContain('SECRET-OUTPUT');
  });
});

describe('buildNotebookPush', () => {
  it('builds an execute push', () => {
    const msg = buildNotebookPush({
      reason: 'execute',
      path: 'dir/nb.ipynb',
      cells,
      metadata: { kernelspec: { name: 'python3', display_name: 'Python 3' } },
      scheduledCellIds: ['a1'],
      now: () => 1234
    });
    expect(msg).toMatchObject({
      type: 'notebook',
      protocol: 1,
      reason: 'execute',
      path: 'dir/nb.ipynb',
      nbformat: 4,
      nbformat_minor: 5,
      scheduled_cell_ids: ['a1'],
      sent_at: 1234,
      metadata: { kernelspec: { name: 'python3' } }
    });
    expect(msg.cells).toHaveLength(4);
    // JSON round trip is lossless (what the comm does)
    expect(JSON.parse(JSON.stringify(msg))).toEqual(msg);
  });

  it('omits scheduled_cell_ids for connect and tolerates missing metadata', () => {
    const msg = buildNotebookPush({
      reason: 'connect',
      path: 'nb.ipynb',
      cells: [],
      metadata: undefined,
      now: () => 1
    });
    expect(msg).not.toHaveProperty('scheduled_cell_ids');
    expect(msg.metadata).toEqual({});
    expect(msg.cells).toEqual([]);
  });

  it('builds a scheduled follow-up', () => {
    expect(buildScheduled('nb.ipynb', ['c2'], () => 5)).toEqual({
      type: 'scheduled',
      protocol: 1,
      path: 'nb.ipynb',
      scheduled_cell_ids: ['c2'],
      sent_at: 5
    });
  });
});

describe('isRunEnded', () => {
  it('recognizes run_ended messages only', () => {
    expect(isRunEnded({ type: 'run_ended', run_id: 'r1', status: 'FINISHED' })).toBe(true);
    expect(isRunEnded({ type: 'run_ended', run_id: 7, status: 'FAILED' })).toBe(true);
    expect(isRunEnded({ type: 'run_ended', run_id: 'r1' })).toBe(false);
    expect(isRunEnded({ type: 'other' })).toBe(false);
    expect(isRunEnded(null)).toBe(false);
    expect(isRunEnded([1])).toBe(false);
  });
});
