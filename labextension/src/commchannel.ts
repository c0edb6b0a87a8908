/**
 * One comm per kernel connection, with a small lifecycle state machine.
 *
 * The frontend opens the comm; the kernel side registers the target only when
 * nbtrack is loaded. Opening against a kernel without the target makes the
 * kernel answer with `comm_close`, so "open failed" and "closed later" look the
 * same: the channel goes back to `closed` and the NEXT send opens a new comm
 * (the open message carries that send's data, so nothing is lost or reordered).
 *
 * Pure: structural types only, no JupyterLab runtime import.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { IRunEnded, isRunEnded, JSONObject } from './protocol';

/** The part of `Kernel.IComm` used here. */
export interface ICommLike {
  readonly commId: string;
  readonly isDisposed: boolean;
  onMsg: (msg: any) => void | PromiseLike<void>;
  onClose: (msg: any) => void | PromiseLike<void>;
  open(data?: any, metadata?: any, buffers?: any): unknown;
  send(data: any, metadata?: any, buffers?: any, disposeOnDone?: boolean): unknown;
  close(data?: any, metadata?: any, buffers?: any): unknown;
  dispose(): void;
}

/** The part of `Kernel.IKernelConnection` used here. */
export interface IKernelLike {
  readonly id: string;
  readonly isDisposed: boolean;
  createComm(targetName: string, commId?: string): ICommLike;
  /** Optional: lets the kernel open the comm itself (see `CommChannel.adopt`). */
  registerCommTarget?(
    targetName: string,
    callback: (comm: any, msg: any) => void | PromiseLike<void>
  ): void;
  removeCommTarget?(
    targetName: string,
    callback: (comm: any, msg: any) => void | PromiseLike<void>
  ): void;
}

/**
 * - `closed`: no live comm; the next send opens one.
 * - `opening`: comm_open sent, outcome unknown. Sends still go on this comm
 *   (shell messages are processed in order, so they follow the open).
 * - `open`: confirmed. ipykernel sends no reply to comm_open; a failed open is
 *   answered with comm_close BEFORE the kernel reports idle for that request,
 *   so "the open's future is done and the comm was not closed" means the
 *   kernel accepted it. A kernel-opened (adopted) comm is open at once.
 * - `disposed`: terminal.
 */
export type ChannelState = 'closed' | 'opening' | 'open' | 'disposed';

export interface IChannelStats {
  opens: number;
  sends: number;
  closedByKernel: number;
  errors: number;
}

/**
 * Run `onDone` when a kernel future's `done` resolves; swallow its rejection
 * (e.g. "Canceled future" on restart) so nothing reaches the console.
 */
function quiet(result: unknown, onDone?: () => void): void {
  const done = (result as { done?: unknown } | null | undefined)?.done;
  if (done && typeof (done as PromiseLike<unknown>).then === 'function') {
    (done as Promise<unknown>).then(
      () => onDone?.(),
      () => undefined
    );
  }
}

export class CommChannel {
  constructor(
    readonly kernel: IKernelLike,
    readonly targetName: string
  ) {}

  get state(): ChannelState {
    return this._state;
  }

  /** The current comm, if any (for tests and diagnostics). */
  get comm(): ICommLike | null {
    return this._comm;
  }

  get stats(): Readonly<IChannelStats> {
    return this._stats;
  }

  /** Every JSON message the kernel sends on the comm. */
  get messageReceived(): ISignal<this, JSONObject> {
    return this._messageReceived;
  }

  /** Kernel -> frontend `run_ended` messages. */
  get runEnded(): ISignal<this, IRunEnded> {
    return this._runEnded;
  }

  /**
   * Emits when the kernel opened the comm itself (nbtrack was just loaded and
   * asks for the notebook); listeners should push a `connect` message.
   */
  get adopted(): ISignal<this, void> {
    return this._adopted;
  }

  /** Emits whenever `state` changes. */
  get stateChanged(): ISignal<this, ChannelState> {
    return this._stateChanged;
  }

  /**
   * Send `data` now: on the open comm, or by opening a new comm carrying it.
   * Never throws; returns false if the message could not be handed to the
   * kernel connection (it is then simply dropped: the next send retries).
   */
  send(data: object): boolean {
    if (this._state === 'disposed' || this.kernel.isDisposed) {
      return false;
    }
    const comm = this._comm;
    if (comm && !comm.isDisposed) {
      try {
        quiet(comm.send(data));
        this._stats.sends++;
        return true;
      } catch {
        this._stats.errors++;
        this._forget(comm);
        // fall through: try once to reopen with this data
      }
    } else if (comm) {
      // Disposed under us: the kernel connection restarted and cleared its comms.
      this._forget(comm);
    }
    return this._open(data);
  }

  /**
   * Send `data` on a NEW comm (comm_open carrying it), leaving the current one
   * to its fate. Use while the current open's outcome is unknown and nbtrack
   * may have been loaded by a cell queued after it: a message on a comm the
   * kernel is going to reject is lost, a new open is judged afresh when the
   * kernel reaches it (see `NotebookPushController.onExecutionScheduled`).
   */
  reopen(data: object): boolean {
    if (this._state === 'disposed' || this.kernel.isDisposed) {
      return false;
    }
    if (this._comm) {
      this._forget(this._comm);
    }
    return this._open(data);
  }

  /**
   * Use a comm the KERNEL opened (target `nbtrack.notebook` registered on the
   * frontend). Replaces the current comm, if any, without closing it: an
   * optimistic open the kernel rejected is closed by the kernel anyway.
   */
  adopt(comm: ICommLike): void {
    if (this._state === 'disposed') {
      return;
    }
    comm.onMsg = msg => this._onMsg(comm, msg);
    comm.onClose = () => this._onClose(comm);
    this._live.add(comm);
    this._comm = comm;
    this._setState('open');
    this._adopted.emit(undefined);
  }

  /**
   * Forget the comm without telling the kernel (use after a kernel restart:
   * the connection already dropped its comms and the kernel process is new).
   */
  reset(): void {
    this._live.clear();
    if (this._comm) {
      this._forget(this._comm);
    }
  }

  /** Close the comm politely (if open) and stop. */
  dispose(): void {
    if (this._state === 'disposed') {
      return;
    }
    const comm = this._comm;
    this._comm = null;
    if (comm && !comm.isDisposed && !this.kernel.isDisposed) {
      comm.onClose = () => undefined;
      try {
        quiet(comm.close());
      } catch {
        // ignore: kernel gone
      }
    }
    this._setState('disposed');
    Signal.clearData(this);
  }

  get isDisposed(): boolean {
    return this._state === 'disposed';
  }

  private _open(data: object): boolean {
    let comm: ICommLike;
    try {
      comm = this.kernel.createComm(this.targetName);
    } catch {
      this._stats.errors++;
      this._setState('closed');
      return false;
    }
    comm.onMsg = msg => this._onMsg(comm, msg);
    comm.onClose = () => this._onClose(comm);
    this._live.add(comm);
    this._comm = comm;
    try {
      quiet(comm.open(data), () => {
        if (comm === this._comm && !comm.isDisposed && this._state === 'opening') {
          this._setState('open');
        }
      });
    } catch {
      this._stats.errors++;
      this._live.delete(comm);
      this._forget(comm);
      try {
        comm.dispose();
      } catch {
        // ignore
      }
      return false;
    }
    this._stats.opens++;
    this._setState('opening');
    return true;
  }

  /**
   * Messages are taken from every comm of this kernel process that is still
   * open, not only the current one: after a `reopen` or an `adopt` the kernel
   * may keep answering on the comm it accepted last (each message is sent once,
   * on one comm, so nothing is seen twice).
   */
  private _onMsg(comm: ICommLike, msg: any): void {
    if (this._state === 'disposed' || !this._live.has(comm)) {
      return;
    }
    const data = msg?.content?.data;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      return;
    }
    this._messageReceived.emit(data as JSONObject);
    if (isRunEnded(data)) {
      this._runEnded.emit(data);
    }
  }

  private _onClose(comm: ICommLike): void {
    this._live.delete(comm);
    if (comm !== this._comm) {
      return;
    }
    this._stats.closedByKernel++;
    this._forget(comm);
  }

  private _forget(comm: ICommLike): void {
    if (comm === this._comm) {
      this._comm = null;
      if (this._state !== 'disposed') {
        this._setState('closed');
      }
    }
  }

  private _setState(state: ChannelState): void {
    if (this._state !== state) {
      this._state = state;
      this._stateChanged.emit(state);
    }
  }

  private _state: ChannelState = 'closed';
  private _comm: ICommLike | null = null;
  /** Comms opened or adopted since the last reset and not closed by the kernel. */
  private _live = new Set<ICommLike>();
  private _stats: IChannelStats = {
    opens: 0,
    sends: 0,
    closedByKernel: 0,
    errors: 0
  };
  private _messageReceived = new Signal<this, JSONObject>(this);
  private _runEnded = new Signal<this, IRunEnded>(this);
  private _stateChanged = new Signal<this, ChannelState>(this);
  private _adopted = new Signal<this, void>(this);
}

/** A `run_ended` message plus the kernel it came from. */
export interface IRunEndedEvent {
  kernelId: string;
  message: IRunEnded;
}

interface IPoolEntry {
  channel: CommChannel;
  refs: number;
  onKernelOpen: (comm: ICommLike) => void;
}

/**
 * Reference-counted channels, one per kernel connection object, so several
 * notebooks sharing a kernel share one comm. Re-emits every channel's
 * `run_ended` on one signal.
 */
export class CommChannelPool {
  constructor(readonly targetName: string) {}

  get runEnded(): ISignal<this, IRunEndedEvent> {
    return this._runEnded;
  }

  /** Number of live channels (for tests). */
  get size(): number {
    return this._entries.size;
  }

  acquire(kernel: IKernelLike): CommChannel {
    let entry = this._entries.get(kernel);
    if (!entry || entry.channel.isDisposed) {
      const channel = new CommChannel(kernel, this.targetName);
      channel.runEnded.connect((_, message) => {
        this._runEnded.emit({ kernelId: kernel.id, message });
      });
      const onKernelOpen = (comm: ICommLike) => channel.adopt(comm);
      try {
        kernel.registerCommTarget?.(this.targetName, onKernelOpen);
      } catch {
        // comms disabled on this connection: frontend-initiated only
      }
      entry = { channel, refs: 0, onKernelOpen };
      this._entries.set(kernel, entry);
    }
    entry.refs++;
    return entry.channel;
  }

  release(kernel: IKernelLike): void {
    const entry = this._entries.get(kernel);
    if (!entry) {
      return;
    }
    entry.refs--;
    if (entry.refs <= 0) {
      this._entries.delete(kernel);
      this._teardown(kernel, entry);
    }
  }

  dispose(): void {
    for (const [kernel, entry] of this._entries) {
      this._teardown(kernel, entry);
    }
    this._entries.clear();
    Signal.clearData(this);
  }

  private _teardown(kernel: IKernelLike, entry: IPoolEntry): void {
    if (!kernel.isDisposed) {
      try {
        kernel.removeCommTarget?.(this.targetName, entry.onKernelOpen);
      } catch {
        // ignore
      }
    }
    entry.channel.dispose();
  }

  private _entries = new Map<IKernelLike, IPoolEntry>();
  private _runEnded = new Signal<this, IRunEndedEvent>(this);
}
