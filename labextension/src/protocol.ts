/**
 * Wire format between the nbtrack lab extension and the nbtrack kernel
 * receiver. The Python mirror (and validator) is `nbtrack/lab_protocol.py`;
 * keep the two in sync.
 *
 * This module has no runtime dependency on JupyterLab so it can be unit tested
 * in plain node.
 */

/** Comm target the kernel registers (`comm_manager.register_target`). */
export const COMM_TARGET = 'nbtrack.notebook';

/** Protocol version carried by every frontend -> kernel message. */
export const PROTOCOL = 1;

/** A JSON value (structural, to avoid a runtime dep on @lumino/coreutils). */
export type JSONValue =
  | string
  | number
  | boolean
  | null
  | JSONValue[]
  | { [key: string]: JSONValue };
export type JSONObject = { [key: string]: JSONValue };

export type PushReason = 'connect' | 'execute';

/** One cell as sent to the kernel: nbformat v4 cell fields, without outputs. */
export interface IPushCell {
  id: string;
  cell_type: string; // 'code' | 'markdown' | 'raw'
  source: string;
  metadata: JSONObject;
  /** Code cells: the count shown in the prompt (null if never run). Others: null. */
  execution_count: number | null;
}

/** Frontend -> kernel: the live notebook (type "notebook"). */
export interface INotebookPush {
  type: 'notebook';
  protocol: number;
  reason: PushReason;
  /** Server-relative path, e.g. "experiments/train.ipynb". */
  path: string;
  cells: IPushCell[];
  metadata: JSONObject;
  nbformat: 4;
  nbformat_minor: 5;
  /** Only for reason "execute": ids of the cells just scheduled. */
  scheduled_cell_ids?: string[];
  /** Epoch milliseconds (Date.now()) when the frontend built the message. */
  sent_at: number;
}

/**
 * Frontend -> kernel: more cells were scheduled in the SAME synchronous batch
 * (e.g. "Run All") as the preceding "notebook" push on this comm, so the
 * notebook content is the one of that push. Saves re-sending the whole
 * notebook once per cell. Receivers that do not care may ignore it.
 */
export interface IScheduledMessage {
  type: 'scheduled';
  protocol: number;
  path: string;
  scheduled_cell_ids: string[];
  sent_at: number;
}

export type FrontendMessage = INotebookPush | IScheduledMessage;

/** Kernel -> frontend: a run ended (FINISHED, FAILED, KILLED, ...). */
export interface IRunEnded {
  type: 'run_ended';
  run_id: string | number;
  status: string;
  [key: string]: JSONValue | undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Type guard for kernel -> frontend `run_ended` messages. */
export function isRunEnded(data: unknown): data is IRunEnded {
  return (
    isObject(data) &&
    data.type === 'run_ended' &&
    (typeof data.run_id === 'string' || typeof data.run_id === 'number') &&
    typeof data.status === 'string'
  );
}
