import { CommChannelPool } from '../src/commchannel';
import { INotebookSource, NotebookPushController } from '../src/controller';
import { COMM_TARGET } from '../src/protocol';
import { ICellLike } from '../src/push';
import { fakeCell, FakeKernel } from './fakes';

function setup() {
  const pool = new CommChannelPool(COMM_TARGET);
  const cells = [fakeCell('a', 'code', 'x = 1'), fakeCell('b', 'code', 'y = 2')];
  const nb: INotebookSource = { path: 'nb.ipynb', cells, metadata: { k: 1 } };
  let deferred: Array<() => void> = [];
  const controller = new NotebookPushController({
    pool,
    source: () => nb,
    now: () => 42,
    defer: fn => deferred.push(fn)
  });
  /** End the current synchronous batch. */
  const tick = () => {
    const fns = deferred;
    deferred = [];
    fns.forEach(fn => fn());
  };
  return { pool, controller, tick, nb };
}

const kinds = (k: FakeKernel) =>
  k.sent.map(s => `${s.kind}:${s.data?.type ?? ''}:${s.data?.reason ?? ''}`);

describe('NotebookPushController', () => {
  it('pushes connect when a ready kernel appears', () => {
    const { controller } = setup();
    const k = new FakeKernel();
    controller.setKernel(k, 'idle');
    expect(kinds(k)).toEqual(['open:notebook:connect']);
    expect(k.sent[0].data).toMatchObject({ path: 'nb.ipynb', sent_at: 42 });
  });

  it('waits for a ready status before the connect push', () => {
    const { controller } = setup();
    const k = new FakeKernel();
    controller.setKernel(k, 'starting');
    expect(k.sent).toHaveLength(0);
    controller.onKernelStatus('idle');
    controller.onKernelStatus('busy');
    controller.onKernelStatus('idle');
    expect(kinds(k)).toEqual(['open:notebook:connect']);
  });

  it('open failure -> retried on the next execution, carrying the execute push', async () => {
    const { controller, tick } = setup();
    const k = new FakeKernel();
    controller.setKernel(k, 'idle');
    await k.lastComm.closeFromKernel(); // nbtrack not loaded in the kernel
    expect(controller.channel?.state).toBe('closed');
    tick();
    controller.onExecutionScheduled('a');
    expect(kinds(k)).toEqual(['open:notebook:connect', 'open:notebook:execute']);
    expect(k.sent[1].data.scheduled_cell_ids).toEqual(['a']);
    expect(k.comms).toHaveLength(2);
    // fails again (still not loaded): again silently retried next time
    await k.lastComm.closeFromKernel();
    tick();
    controller.onExecutionScheduled('b');
    expect(kinds(k)).toEqual([
      'open:notebook:connect',
      'open:notebook:execute',
      'open:notebook:execute'
    ]);
    // now loaded: the open sticks and later executions reuse it
    tick();
    controller.onExecutionScheduled('a');
    expect(k.sent[3].kind).toBe('msg');
    expect(k.comms).toHaveLength(3);
  });

  it('restart -> new comm and a fresh connect push once the kernel is up', () => {
    const { controller, tick } = setup();
    const k = new FakeKernel();
    controller.setKernel(k, 'idle');
    controller.onExecutionScheduled('a');
    tick();
    controller.onKernelStatus('restarting');
    k.restart();
    controller.onKernelStatus('starting');
    expect(k.sent).toHaveLength(2);
    controller.onKernelStatus('idle');
    expect(kinds(k)).toEqual([
      'open:notebook:connect',
      'msg:notebook:execute',
      'open:notebook:connect'
    ]);
    expect(k.comms).toHaveLength(2);
    // idle again after an execution does not re-push connect
    controller.onKernelStatus('busy');
    controller.onKernelStatus('idle');
    expect(k.sent).toHaveLength(3);
  });

  it('an execution during restart-before-idle opens a new comm itself', () => {
    const { controller } = setup();
    const k = new FakeKernel();
    controller.setKernel(k, 'idle');
    controller.onKernelStatus('autorestarting');
    k.restart();
    controller.onExecutionScheduled('a');
    controller.onKernelStatus('idle');
    // the execute push already told the new kernel: no extra connect push
    expect(kinds(k)).toEqual(['open:notebook:connect', 'open:notebook:execute']);
  });

  it('kernel change -> old comm closed, new comm on the new kernel', () => {
    const { controller, pool } = setup();
    const k1 = new FakeKernel('k1');
    const k2 = new FakeKernel('k2');
    controller.setKernel(k1, 'idle');
    controller.setKernel(k2, 'unknown');
    expect(kinds(k1)).toEqual(['open:notebook:connect', 'close::']);
    expect(k2.sent).toHaveLength(0);
    controller.onKernelStatus('idle');
    expect(kinds(k2)).toEqual(['open:notebook:connect']);
    expect(pool.size).toBe(1);
    controller.setKernel(null);
    expect(pool.size).toBe(0);
  });

  it('run-all: one full push, then cheap scheduled messages in the same batch', async () => {
    const { controller, tick } = setup();
    const k = new FakeKernel();
    controller.setKernel(k, 'idle');
    await k.lastComm.ack();
    tick();
    controller.onExecutionScheduled('a');
    controller.onExecutionScheduled('b');
    expect(kinds(k)).toEqual([
      'open:notebook:connect',
      'msg:notebook:execute',
      'msg:scheduled:'
    ]);
    expect(k.sent[2].data).toEqual({
      type: 'scheduled',
      protocol: 1,
      path: 'nb.ipynb',
      scheduled_cell_ids: ['b'],
      sent_at: 42
    });
    tick();
    controller.onExecutionScheduled('b');
    expect(k.sent[3].data).toMatchObject({ type: 'notebook', reason: 'execute' });
  });

  it('run-all while the comm is still opening: followers send nothing', async () => {
    const { controller, tick } = setup();
    const k = new FakeKernel();
    controller.setKernel(k, 'idle');
    await k.lastComm.closeFromKernel(); // nbtrack not loaded
    tick();
    expect(controller.onExecutionScheduled('a')).toBe(true);
    expect(controller.onExecutionScheduled('b')).toBe(false);
    expect(kinds(k)).toEqual(['open:notebook:connect', 'open:notebook:execute']);
    // the open failed: the next batch retries with a full push
    await k.lastComm.closeFromKernel();
    tick();
    controller.onExecutionScheduled('b');
    expect(kinds(k)).toEqual([
      'open:notebook:connect',
      'open:notebook:execute',
      'open:notebook:execute'
    ]);
    expect(k.sent[2].data.scheduled_cell_ids).toEqual(['b']);
  });

  it('a batch whose first push went on a comm that was then replaced sends a full push', () => {
    const { controller } = setup();
    const k = new FakeKernel();
    controller.setKernel(k, 'starting');
    controller.onExecutionScheduled('a');
    controller.onKernelStatus('restarting');
    k.restart();
    controller.onExecutionScheduled('b');
    expect(kinds(k)).toEqual(['open:notebook:execute', 'open:notebook:execute']);
  });

  it('kernel-initiated comm (nbtrack just loaded) gets a connect push', async () => {
    const { controller } = setup();
    const k = new FakeKernel();
    controller.setKernel(k, 'idle');
    await k.lastComm.closeFromKernel();
    const comm = k.openFromKernel(COMM_TARGET);
    expect(k.sent[1]).toMatchObject({
      kind: 'msg',
      commId: comm.commId,
      data: { type: 'notebook', reason: 'connect' }
    });
  });

  describe('a fresh kernel that loads nbtrack in the batch (restart + Run All)', () => {
    function loading() {
      const ctx = setup();
      (ctx.nb.cells as ICellLike[]).splice(
        0,
        2,
        fakeCell('load', 'code', '%load_ext nbtrack'),
        fakeCell('track', 'code', '%%track t\nx = 1'),
        fakeCell('more', 'code', 'y = 2')
      );
      return ctx;
    }

    it('the cell after the loading cell sends the notebook again on a new comm', async () => {
      const { controller, tick } = loading();
      const k = new FakeKernel();
      controller.setKernel(k, 'idle');
      await k.lastComm.closeFromKernel(); // the fresh kernel has no target yet
      tick();
      controller.onExecutionScheduled('load');
      expect(controller.onExecutionScheduled('track')).toBe(true);
      expect(controller.onExecutionScheduled('more')).toBe(false);
      expect(kinds(k)).toEqual([
        'open:notebook:connect',
        'open:notebook:execute',
        'open:notebook:execute'
      ]);
      // two different comms: the first is rejected (queued before the load),
      // the second is judged after the loading cell ran
      expect(k.sent[1].commId).not.toEqual(k.sent[2].commId);
      expect(k.sent[2].data.scheduled_cell_ids).toEqual(['track']);
      expect(k.sent[2].data.cells.map((c: any) => c.source)).toContain(
        '%%track t\nx = 1'
      );
      // the rejection of the first open does not disturb the second
      await k.comms[1].closeFromKernel();
      expect(controller.channel?.comm).toBe(k.lastComm);
      await k.lastComm.ack();
      expect(controller.channel?.state).toBe('open');
    });

    it('also when the cells are run one by one before the first open is answered', () => {
      const { controller, tick } = loading();
      const k = new FakeKernel();
      controller.setKernel(k, 'starting');
      controller.onExecutionScheduled('load');
      tick();
      controller.onExecutionScheduled('track');
      expect(kinds(k)).toEqual(['open:notebook:execute', 'open:notebook:execute']);
      expect(k.comms).toHaveLength(2);
    });

    it('a confirmed comm is reused: no second push after a cell naming nbtrack', async () => {
      const { controller, tick } = loading();
      const k = new FakeKernel();
      controller.setKernel(k, 'idle');
      await k.lastComm.ack();
      tick();
      controller.onExecutionScheduled('load');
      controller.onExecutionScheduled('track');
      expect(kinds(k)).toEqual([
        'open:notebook:connect',
        'msg:notebook:execute',
        'msg:scheduled:'
      ]);
    });

    it('the restart forgets a loading cell scheduled before it', () => {
      const { controller } = loading();
      const k = new FakeKernel();
      controller.setKernel(k, 'starting');
      controller.onExecutionScheduled('load');
      controller.onKernelStatus('restarting');
      k.restart();
      controller.onExecutionScheduled('more');
      controller.onExecutionScheduled('track');
      expect(kinds(k)).toEqual(['open:notebook:execute', 'open:notebook:execute']);
    });
  });

  it('does nothing without a kernel or after dispose', () => {
    const { controller } = setup();
    expect(controller.onExecutionScheduled('a')).toBe(false);
    const k = new FakeKernel();
    controller.setKernel(k, 'idle');
    controller.dispose();
    expect(controller.onExecutionScheduled('a')).toBe(false);
    expect(controller.pushConnect()).toBe(false);
    expect(kinds(k)).toEqual(['open:notebook:connect', 'close::']);
  });
});
