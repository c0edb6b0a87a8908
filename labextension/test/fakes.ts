/** In-memory stand-ins for a kernel connection and its comms. */
import { ICommLike, IKernelLike } from '../src/commchannel';
import { ICellLike } from '../src/push';

/** Let pending promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await Promise.resolve();
  }
}

export interface ISent {
  kind: 'open' | 'msg' | 'close';
  commId: string;
  data: any;
}

export class FakeComm implements ICommLike {
  constructor(
    readonly kernel: FakeKernel,
    readonly targetName: string,
    readonly commId: string
  ) {}
  isDisposed = false;
  onMsg: (msg: any) => void = () => undefined;
  onClose: (msg: any) => void = () => undefined;
  open(data?: any): unknown {
    this.kernel.check();
    this.kernel.sent.push({ kind: 'open', commId: this.commId, data });
    return {
      done: new Promise<void>((resolve, reject) => {
        this._ack = resolve;
        this._cancel = reject;
      })
    };
  }
  /** The kernel went idle after the comm_open: resolve the open's future. */
  async ack(): Promise<void> {
    this._ack();
    await flush();
  }
  /** The connection cancelled the open's future (restart). */
  async cancel(): Promise<void> {
    this._cancel(new Error('Canceled future for comm_open message'));
    await flush();
  }
  private _ack: () => void = () => undefined;
  private _cancel: (e: Error) => void = () => undefined;
  send(data: any): unknown {
    if (this.isDisposed) {
      throw new Error('Cannot send');
    }
    this.kernel.check();
    this.kernel.sent.push({ kind: 'msg', commId: this.commId, data });
    return { done: Promise.reject(new Error('Canceled future')) };
  }
  close(data?: any): unknown {
    this.kernel.sent.push({ kind: 'close', commId: this.commId, data });
    this.isDisposed = true;
    return { done: Promise.resolve() };
  }
  dispose(): void {
    this.isDisposed = true;
  }
  /** The kernel sends a comm_msg to the frontend. */
  receive(data: any): void {
    this.onMsg({ content: { comm_id: this.commId, data } });
  }
  /**
   * The kernel closes the comm (e.g. no such target registered). For a failed
   * open, the close arrives before the idle status that completes the open.
   */
  async closeFromKernel(): Promise<void> {
    this.onClose({ content: { comm_id: this.commId, data: {} } });
    this.isDisposed = true;
    this._ack();
    await flush();
  }
}

export class FakeKernel implements IKernelLike {
  constructor(readonly id = 'k1') {}
  isDisposed = false;
  dead = false;
  comms: FakeComm[] = [];
  sent: ISent[] = [];
  targets = new Map<string, (comm: any, msg: any) => void>();
  private _n = 0;

  check(): void {
    if (this.dead) {
      throw new Error('Kernel is dead');
    }
  }
  createComm(targetName: string): FakeComm {
    const comm = new FakeComm(this, targetName, `${this.id}-c${++this._n}`);
    this.comms.push(comm);
    return comm;
  }
  registerCommTarget(name: string, cb: (comm: any, msg: any) => void): void {
    this.targets.set(name, cb);
  }
  removeCommTarget(name: string, cb: (comm: any, msg: any) => void): void {
    if (this.targets.get(name) === cb) {
      this.targets.delete(name);
    }
  }
  /** What a restart does to a JupyterLab kernel connection: drop all comms. */
  restart(): void {
    for (const comm of this.comms) {
      comm.dispose();
    }
  }
  /** The kernel opens a comm to the frontend target. */
  openFromKernel(name: string): FakeComm {
    const comm = new FakeComm(this, name, `${this.id}-kc${++this._n}`);
    this.comms.push(comm);
    this.targets.get(name)?.(comm, {});
    return comm;
  }
  get lastComm(): FakeComm {
    return this.comms[this.comms.length - 1];
  }
}

export function fakeCell(
  id: string,
  type: string,
  source: string,
  extra: Partial<{ metadata: unknown; executionCount: number | null }> = {}
): ICellLike & { outputs: unknown[] } {
  return {
    id,
    type,
    sharedModel: { getSource: () => source },
    metadata: extra.metadata ?? {},
    executionCount: extra.executionCount,
    // must never be read into a push
    outputs: [{ output_type: 'stream', text: 'SECRET-OUTPUT' }]
  };
}
