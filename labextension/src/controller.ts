/**
 * Per-notebook push logic: when to send what on the kernel's channel.
 * Pure (no JupyterLab runtime import); `index.ts` feeds it JupyterLab events.
 */
import { CommChannel, CommChannelPool, IKernelLike } from './commchannel';
import {
  buildNotebookPush,
  buildScheduled,
  CellCollection,
  findCell
} from './push';

/** What the controller reads from the live notebook at push time. */
export interface INotebookSource {
  /** Server-relative path (no drive prefix). */
  readonly path: string;
  readonly cells: CellCollection;
  readonly metadata: unknown;
}

export interface INotebookPushControllerOptions {
  pool: CommChannelPool;
  /** Returns the live notebook, or null if the model is gone. */
  source: () => INotebookSource | null;
  now?: () => number;
  /** Runs `fn` after the current synchronous batch (default queueMicrotask). */
  defer?: (fn: () => void) => void;
}

/** Kernel statuses after which the kernel process is new or gone. */
const RESET_STATUSES = new Set(['restarting', 'autorestarting', 'dead']);
/** Kernel statuses meaning "ready to receive messages". */
const READY_STATUSES = new Set(['idle', 'busy']);

/** Whether the cell's code may load nbtrack (`%load_ext nbtrack`, `import nbtrack`, ...). */
function mentionsNbtrack(cells: CellCollection, cellId: string): boolean {
  const cell = findCell(cells, cellId);
  return !!cell && cell.sharedModel.getSource().includes('nbtrack');
}

export class NotebookPushController {
  constructor(options: INotebookPushControllerOptions) {
    this._pool = options.pool;
    this._source = options.source;
    this._now = options.now ?? Date.now;
    this._defer =
      options.defer ??
      (fn => {
        void Promise.resolve().then(fn);
      });
  }

  get channel(): CommChannel | null {
    return this._channel;
  }

  get kernel(): IKernelLike | null {
    return this._kernel;
  }

  /**
   * The session's kernel connection changed (or was first seen). `status` is
   * its current status; if it is ready a `connect` push is sent now, else on
   * the next ready status.
   */
  setKernel(kernel: IKernelLike | null, status?: string): void {
    if (this._disposed || kernel === this._kernel) {
      if (kernel && status) {
        this.onKernelStatus(status);
      }
      return;
    }
    this._detach();
    this._kernel = kernel;
    if (!kernel) {
      return;
    }
    const channel = this._pool.acquire(kernel);
    channel.adopted.connect(this._onAdopted, this);
    this._channel = channel;
    this._needsConnect = true;
    if (status) {
      this.onKernelStatus(status);
    }
  }

  /** Feed every kernel status change of the session here. */
  onKernelStatus(status: string): void {
    if (this._disposed || !this._channel) {
      return;
    }
    if (RESET_STATUSES.has(status)) {
      // The connection drops its comms on restart; a new process needs a new
      // comm and a fresh connect push once it is up again.
      this._channel.reset();
      this._burst = null;
      this._afterLoad = false;
      this._needsConnect = true;
      return;
    }
    if (READY_STATUSES.has(status) && this._needsConnect) {
      this._needsConnect = false;
      this.pushConnect();
    }
  }

  /** Send a `connect` push now. Returns whether it was handed to the kernel. */
  pushConnect(): boolean {
    const channel = this._channel;
    const src = this._source();
    if (this._disposed || !channel || !src) {
      return false;
    }
    this._burst = null;
    return channel.send(
      buildNotebookPush({
        reason: 'connect',
        path: src.path,
        cells: src.cells,
        metadata: src.metadata,
        now: this._now
      })
    );
  }

  /**
   * A cell of this notebook was scheduled (NotebookActions.executionScheduled).
   * Must be called synchronously from the signal: the execute request is sent
   * right after it, and the push has to precede it on the shell channel.
   *
   * The first cell of a synchronous batch (one "Run All" schedules every cell
   * in one go) sends the whole notebook; the rest of the batch sends
   * `scheduled` messages (ids only) on the same comm if the kernel has
   * confirmed it, and nothing while it is still opening.
   *
   * One exception keeps a fresh kernel's first tracked cell live: while the
   * comm is not confirmed (after a restart the kernel rejects every open made
   * before `%load_ext nbtrack` has run), the cell scheduled right after a
   * cell that mentions `nbtrack` sends the whole notebook again on a NEW comm.
   * The shell channel handles messages in order, so that open reaches the
   * kernel after the loading cell ran and before the next cell runs; the
   * connect push answering the kernel's own comm would come only after every
   * execute request already queued.
   */
  onExecutionScheduled(cellId: string): boolean {
    const channel = this._channel;
    if (this._disposed || !channel) {
      return false;
    }
    const src = this._source();
    if (!src) {
      return false;
    }
    this._needsConnect = false;
    const unconfirmed = channel.state !== 'open';
    const fresh = unconfirmed && this._afterLoad;
    this._afterLoad = unconfirmed && mentionsNbtrack(src.cells, cellId);
    const burst = this._burst;
    if (!fresh && burst && channel.comm === burst.comm && burst.path === src.path) {
      if (channel.state === 'open') {
        return channel.send(buildScheduled(src.path, [cellId], this._now));
      }
      // The batch's push is still opening the comm. If that open fails
      // (nbtrack not loaded), every further message on it would only make the
      // kernel log "No such comm"; the cell id is in the execute request's
      // metadata (`cellId`) anyway.
      return false;
    }
    const push = buildNotebookPush({
      reason: 'execute',
      path: src.path,
      cells: src.cells,
      metadata: src.metadata,
      scheduledCellIds: [cellId],
      now: this._now
    });
    const ok = fresh ? channel.reopen(push) : channel.send(push);
    if (ok && channel.comm) {
      const token = { comm: channel.comm, path: src.path };
      this._burst = token;
      this._defer(() => {
        if (this._burst === token) {
          this._burst = null;
        }
      });
    }
    return ok;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._detach();
    this._disposed = true;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  private _onAdopted(): void {
    this._needsConnect = false;
    this.pushConnect();
  }

  private _detach(): void {
    if (this._channel) {
      this._channel.adopted.disconnect(this._onAdopted, this);
    }
    if (this._kernel) {
      this._pool.release(this._kernel);
    }
    this._channel = null;
    this._kernel = null;
    this._burst = null;
  }

  private _pool: CommChannelPool;
  private _source: () => INotebookSource | null;
  private _now: () => number;
  private _defer: (fn: () => void) => void;
  private _kernel: IKernelLike | null = null;
  private _channel: CommChannel | null = null;
  private _needsConnect = false;
  private _burst: { comm: unknown; path: string } | null = null;
  /** The last cell scheduled on an unconfirmed comm mentions nbtrack. */
  private _afterLoad = false;
  private _disposed = false;
}
