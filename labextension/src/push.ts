/**
 * Build push messages from the live notebook model. Pure: only structural
 * types, so jest can drive it with plain objects.
 */
import {
  INotebookPush,
  IPushCell,
  IScheduledMessage,
  JSONObject,
  PROTOCOL,
  PushReason
} from './protocol';

/**
 * The part of `ICellModel` (JupyterLab 4) the push needs. A real cell model
 * satisfies it structurally; reading these never touches outputs.
 */
export interface ICellLike {
  readonly id: string;
  readonly type: string;
  readonly sharedModel: { getSource(): string };
  /** A copy of the cell metadata (JupyterLab's getter returns a copy). */
  readonly metadata?: unknown;
  /** Only code cells have it. */
  readonly executionCount?: number | null;
}

/** Anything iterable or array-like with `length`/`get(i)` (Lumino/JL CellList). */
export type CellCollection =
  | Iterable<ICellLike>
  | { readonly length: number; get(index: number): ICellLike };

function* iterCells(cells: CellCollection): Iterable<ICellLike> {
  if (Symbol.iterator in (cells as object)) {
    yield* cells as Iterable<ICellLike>;
    return;
  }
  const list = cells as { readonly length: number; get(i: number): ICellLike };
  for (let i = 0; i < list.length; i++) {
    yield list.get(i);
  }
}

/** The cell with this id, or undefined. */
export function findCell(
  cells: CellCollection,
  cellId: string
): ICellLike | undefined {
  for (const cell of iterCells(cells)) {
    if (cell.id === cellId) {
      return cell;
    }
  }
  return undefined;
}

function asJSONObject(value: unknown): JSONObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JSONObject)
    : {};
}

/** One cell to its wire form (no outputs, no attachments). */
export function cellToPush(cell: ICellLike): IPushCell {
  const isCode = cell.type === 'code';
  const count = isCode ? cell.executionCount : null;
  return {
    id: cell.id,
    cell_type: cell.type,
    source: cell.sharedModel.getSource(),
    metadata: asJSONObject(cell.metadata),
    execution_count: typeof count === 'number' ? count : null
  };
}

export function cellsToPush(cells: CellCollection): IPushCell[] {
  const out: IPushCell[] = [];
  for (const cell of iterCells(cells)) {
    out.push(cellToPush(cell));
  }
  return out;
}

export interface IBuildPushOptions {
  reason: PushReason;
  path: string;
  cells: CellCollection;
  metadata?: unknown;
  scheduledCellIds?: string[];
  now?: () => number;
}

/** Build a `{"type": "notebook"}` message. */
export function buildNotebookPush(options: IBuildPushOptions): INotebookPush {
  const now = options.now ?? Date.now;
  const msg: INotebookPush = {
    type: 'notebook',
    protocol: PROTOCOL,
    reason: options.reason,
    path: options.path,
    cells: cellsToPush(options.cells),
    metadata: asJSONObject(options.metadata),
    nbformat: 4,
    nbformat_minor: 5,
    sent_at: now()
  };
  if (options.reason === 'execute') {
    msg.scheduled_cell_ids = [...(options.scheduledCellIds ?? [])];
  }
  return msg;
}

/** Build a `{"type": "scheduled"}` follow-up message. */
export function buildScheduled(
  path: string,
  cellIds: string[],
  now: () => number = Date.now
): IScheduledMessage {
  return {
    type: 'scheduled',
    protocol: PROTOCOL,
    path,
    scheduled_cell_ids: [...cellIds],
    sent_at: now()
  };
}
