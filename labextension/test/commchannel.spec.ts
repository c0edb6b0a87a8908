import { CommChannel, CommChannelPool } from '../src/commchannel';
import { COMM_TARGET } from '../src/protocol';
import { FakeKernel } from './fakes';

describe('CommChannel', () => {
  let kernel: FakeKernel;
  let channel: CommChannel;
  beforeEach(() => {
    kernel = new FakeKernel();
    channel = new CommChannel(kernel, COMM_TARGET);
  });

  it('opens lazily with the first message as the open data', () => {
    expect(channel.state).toBe('closed');
    expect(kernel.comms).toHaveLength(0);
    expect(channel.send({ n: 1 })).toBe(true);
    expect(channel.state).toBe('opening');
    expect(kernel.sent).toEqual([
      { kind: 'open', commId: 'k1-c1', data: { n: 1 } }
    ]);
    expect(kernel.lastComm.targetName).toBe('nbtrack.notebook');
  });

  it('is confirmed open once the open completes without a close', async () => {
    channel.send({ n: 1 });
    await kernel.lastComm.ack();
    expect(channel.state).toBe('open');
  });

  it('reuses the comm for later messages, also while opening', async () => {
    channel.send({ n: 1 });
    channel.send({ n: 2 });
    await kernel.lastComm.ack();
    channel.send({ n: 3 });
    expect(kernel.comms).toHaveLength(1);
    expect(kernel.sent.map(s => s.kind)).toEqual(['open', 'msg', 'msg']);
    expect(channel.stats).toMatchObject({ opens: 1, sends: 2 });
  });

  it('open failure (kernel closes: no target) -> closed, retried on next send', async () => {
    const states: string[] = [];
    channel.stateChanged.connect((_, s) => states.push(s));
    channel.send({ n: 1 });
    await kernel.lastComm.closeFromKernel();
    expect(channel.state).toBe('closed');
    expect(channel.comm).toBeNull();
    channel.send({ n: 2 });
    expect(channel.state).toBe('opening');
    expect(kernel.comms).toHaveLength(2);
    expect(kernel.sent).toEqual([
      { kind: 'open', commId: 'k1-c1', data: { n: 1 } },
      { kind: 'open', commId: 'k1-c2', data: { n: 2 } }
    ]);
    await kernel.lastComm.ack();
    expect(states).toEqual(['opening', 'closed', 'opening', 'open']);
    expect(channel.stats.closedByKernel).toBe(1);
  });

  it('a close after confirmation (nbtrack unloaded) also retries on next send', async () => {
    channel.send({ n: 1 });
    await kernel.lastComm.ack();
    await kernel.lastComm.closeFromKernel();
    expect(channel.state).toBe('closed');
    channel.send({ n: 2 });
    expect(kernel.sent[1]).toEqual({ kind: 'open', commId: 'k1-c2', data: { n: 2 } });
  });

  it('a late close or ack of an old comm does not affect the current one', async () => {
    channel.send({ n: 1 });
    const old = kernel.lastComm;
    channel.reset();
    channel.send({ n: 2 });
    await old.closeFromKernel();
    await old.ack();
    expect(channel.state).toBe('opening');
    expect(channel.comm).toBe(kernel.lastComm);
  });

  it('restart (connection disposed its comms) -> reopens on next send', async () => {
    channel.send({ n: 1 });
    const first = kernel.lastComm;
    kernel.restart();
    await first.cancel(); // the open's future is cancelled: silently ignored
    expect(channel.send({ n: 2 })).toBe(true);
    expect(kernel.comms).toHaveLength(2);
    expect(kernel.sent[1]).toEqual({ kind: 'open', commId: 'k1-c2', data: { n: 2 } });
    expect(channel.state).toBe('opening');
  });

  it('is silent when the kernel is dead: returns false, never throws', () => {
    const errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const warns = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    kernel.dead = true;
    expect(channel.send({ n: 1 })).toBe(false);
    expect(channel.state).toBe('closed');
    kernel.dead = false;
    expect(channel.send({ n: 2 })).toBe(true);
    expect(errors).not.toHaveBeenCalled();
    expect(warns).not.toHaveBeenCalled();
    errors.mockRestore();
    warns.mockRestore();
  });

  it('a send that throws on a live comm reopens once with the same data', () => {
    channel.send({ n: 1 });
    const comm = kernel.lastComm;
    comm.send = () => {
      throw new Error('boom');
    };
    expect(channel.send({ n: 2 })).toBe(true);
    expect(kernel.sent[1]).toEqual({ kind: 'open', commId: 'k1-c2', data: { n: 2 } });
  });

  it('emits run_ended and raw messages from the kernel', () => {
    const ended: unknown[] = [];
    const raw: unknown[] = [];
    channel.runEnded.connect((_, m) => ended.push(m));
    channel.messageReceived.connect((_, m) => raw.push(m));
    channel.send({ n: 1 });
    const comm = kernel.lastComm;
    comm.receive({ type: 'run_ended', run_id: 'r1', status: 'FINISHED' });
    comm.receive({ type: 'something_else' });
    comm.receive('not an object');
    expect(ended).toEqual([{ type: 'run_ended', run_id: 'r1', status: 'FINISHED' }]);
    expect(raw).toHaveLength(2);
  });

  it('adopts a comm the kernel opened (confirmed at once)', () => {
    const adopted = jest.fn();
    channel.adopted.connect(adopted);
    const comm = kernel.createComm(COMM_TARGET);
    channel.adopt(comm);
    expect(channel.state).toBe('open');
    expect(adopted).toHaveBeenCalledTimes(1);
    channel.send({ n: 1 });
    expect(kernel.sent).toEqual([{ kind: 'msg', commId: comm.commId, data: { n: 1 } }]);
  });

  it('reopen sends on a new comm, and the kernel may answer on either', async () => {
    const ended: unknown[] = [];
    channel.runEnded.connect((_, m) => ended.push(m));
    channel.send({ n: 1 });
    const first = kernel.lastComm;
    expect(channel.reopen({ n: 2 })).toBe(true);
    const second = kernel.lastComm;
    expect(kernel.sent).toEqual([
      { kind: 'open', commId: first.commId, data: { n: 1 } },
      { kind: 'open', commId: second.commId, data: { n: 2 } }
    ]);
    await first.closeFromKernel(); // rejected: queued before nbtrack loaded
    expect(channel.comm).toBe(second);
    const kernelOpened = kernel.openFromKernel(COMM_TARGET);
    channel.adopt(kernelOpened);
    // the kernel accepted `second` last and announces its runs there
    second.receive({ type: 'run_ended', run_id: 'r1', status: 'FINISHED' });
    first.receive({ type: 'run_ended', run_id: 'stale', status: 'FINISHED' });
    expect(ended).toEqual([{ type: 'run_ended', run_id: 'r1', status: 'FINISHED' }]);
    expect(channel.comm).toBe(kernelOpened);
  });

  it('after a restart nothing from the old process is taken', () => {
    const ended: unknown[] = [];
    channel.runEnded.connect((_, m) => ended.push(m));
    channel.send({ n: 1 });
    const old = kernel.lastComm;
    channel.reset();
    old.receive({ type: 'run_ended', run_id: 'old', status: 'FINISHED' });
    expect(ended).toEqual([]);
  });

  it('dispose closes the comm politely and stops sending', () => {
    channel.send({ n: 1 });
    channel.dispose();
    expect(channel.state).toBe('disposed');
    expect(kernel.sent.map(s => s.kind)).toEqual(['open', 'close']);
    expect(channel.send({ n: 2 })).toBe(false);
    expect(kernel.sent).toHaveLength(2);
  });
});

describe('CommChannelPool', () => {
  it('gives one channel per kernel, refcounted', () => {
    const pool = new CommChannelPool(COMM_TARGET);
    const k1 = new FakeKernel('k1');
    const k2 = new FakeKernel('k2');
    const a = pool.acquire(k1);
    const b = pool.acquire(k1);
    const c = pool.acquire(k2);
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(pool.size).toBe(2);
    expect(k1.targets.has(COMM_TARGET)).toBe(true);
    pool.release(k1);
    expect(a.isDisposed).toBe(false);
    pool.release(k1);
    expect(a.isDisposed).toBe(true);
    expect(k1.targets.has(COMM_TARGET)).toBe(false);
    expect(pool.size).toBe(1);
    // a new acquire after full release gives a fresh channel
    expect(pool.acquire(k1)).not.toBe(a);
  });

  it('re-emits run_ended with the kernel id', () => {
    const pool = new CommChannelPool(COMM_TARGET);
    const k = new FakeKernel('kx');
    const events: unknown[] = [];
    pool.runEnded.connect((_, e) => events.push(e));
    pool.acquire(k).send({ n: 1 });
    k.lastComm.receive({ type: 'run_ended', run_id: 9, status: 'FAILED' });
    expect(events).toEqual([
      { kernelId: 'kx', message: { type: 'run_ended', run_id: 9, status: 'FAILED' } }
    ]);
  });

  it('routes a kernel-opened comm to the channel', () => {
    const pool = new CommChannelPool(COMM_TARGET);
    const k = new FakeKernel();
    const channel = pool.acquire(k);
    const comm = k.openFromKernel(COMM_TARGET);
    expect(channel.comm).toBe(comm);
  });
});
