/**
 * Pure logic of the runs side panel: the API's record shapes, formatting,
 * sorting, choosing the key metrics and diffing a run against the previous
 * one. No DOM, no JupyterLab import, so jest tests it in plain node.
 */

/** A param or metric value as the API sends it (NaN/inf arrive as strings). */
export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

/** One run, as `nbtrack.server.runs.record` serialises it. */
export interface IRunRecord {
  id: string;
  short_id: string;
  name: string | null;
  experiment: string;
  status: string;
  start_time: number;
  end_time: number | null;
  duration: number | null;
  params: { [key: string]: Value };
  metrics: { [key: string]: Value };
  tags: { [key: string]: string };
  /** Data inputs: one-line fingerprint descriptions ("ndarray 800x12 float64 · 3f2a1b0c9d8e"); absent from older servers. */
  inputs?: { [key: string]: string };
  notebook: string | null;
  /** Receipt badge text ("clean", "2 warnings", ...) or "". */
  badge: string;
  /** "clean" | "warn" | "". */
  badge_kind: string;
  error: string | null;
  /** Live model versions registered from this run; absent from older servers. */
  models?: IModelVersionRef[];
}

/** A registered model version, as `nbtrack.server.runs.record` lists it under a run. */
export interface IModelVersionRef {
  name: string;
  version: number;
  /** "None" | "Staging" | "Production" | "Archived" */
  stage: string;
}

/** A version's badge: the text, a CSS suffix for its stage, and a tooltip. */
export interface IModelBadge {
  text: string;
  stage: string;
  title: string;
}

/** `GET /nbtrack/api/runs` */
export interface IRunList {
  notebook: string;
  store: string;
  rerun: boolean;
  runs: IRunRecord[];
}

/** `GET /nbtrack/api/runs/<id>` */
export interface IRunDetail {
  notebook: string;
  store: string;
  rerun: boolean;
  run: IRunRecord;
  previous: IRunRecord | null;
}

export type SortKey = 'start_time' | 'name' | 'status' | 'duration';
export type SortDirection = 'asc' | 'desc';

/** The tag a rerun carries: the id of the run it reproduces (see nbtrack.snapshot.rerun). */
export const RERUN_TAG = 'nbtrack.rerun_of';

/** The id of the run this one re-executed, or null when it is not a rerun. */
export function rerunOf(run: IRunRecord): string | null {
  const original = run.tags ? run.tags[RERUN_TAG] : undefined;
  return typeof original === 'string' && original !== '' ? original : null;
}

/**
 * Badges for the model versions registered from a run, Production first, then
 * Staging, None and Archived (what a glance at the list should find first).
 * Model names are user text: display them with textContent.
 */
export function modelBadges(run: IRunRecord): IModelBadge[] {
  const order = ['Production', 'Staging', 'None', 'Archived'];
  const rank = (stage: string) => (order.includes(stage) ? order.indexOf(stage) : order.length);
  return [...(run.models ?? [])]
    .sort((a, b) => rank(a.stage) - rank(b.stage) || a.name.localeCompare(b.name) || a.version - b.version)
    .map(v => ({
      text: v.stage === 'None' ? `${v.name} v${v.version}` : `${v.name} v${v.version} · ${v.stage}`,
      stage: order.includes(v.stage) ? v.stage.toLowerCase() : 'none',
      title: `Registered as model ${v.name}, version ${v.version} (stage ${v.stage})`
    }));
}

/** A run's label: its name, else its short id (names may be any text: display with textContent). */
export function runLabel(run: IRunRecord): string {
  return run.name ? run.name : run.short_id;
}

/**
 * A value for display: numbers with at most 4 significant decimals (integers as
 * is), strings as is, everything else as JSON.
 */
export function formatValue(value: Value | undefined): string {
  if (value === undefined) {
    return '—';
  }
  if (typeof value === 'number') {
    if (Number.isInteger(value)) {
      return String(value);
    }
    const abs = Math.abs(value);
    if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) {
      return value.toExponential(3);
    }
    return String(Number(value.toPrecision(4)));
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}

/** Seconds as "850 ms", "12.3 s", "4m 05s", "2h 03m"; "—" when unknown. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) {
    return '—';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${Number(seconds.toFixed(1))} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes}m ${String(Math.floor(seconds % 60)).padStart(2, '0')}s`;
  }
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/**
 * Epoch seconds relative to `now` (epoch ms): "just now", "5 min ago",
 * "3 h ago", else the local date and time "2026-11-28 14:05".
 */
export function formatTime(epochSeconds: number, now: number = Date.now()): string {
  const ago = now / 1000 - epochSeconds;
  if (ago >= 0 && ago < 60) {
    return 'just now';
  }
  if (ago >= 0 && ago < 3600) {
    return `${Math.floor(ago / 60)} min ago`;
  }
  if (ago >= 0 && ago < 86400) {
    return `${Math.floor(ago / 3600)} h ago`;
  }
  const d = new Date(epochSeconds * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * The metrics to show in a run's row: up to `limit` keys, the ones most runs of
 * the list have first (so rows line up), then alphabetical.
 */
export function keyMetrics(runs: IRunRecord[], limit = 3): string[] {
  const counts = new Map<string, number>();
  for (const run of runs) {
    for (const key of Object.keys(run.metrics)) {
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, limit)
    .map(([key]) => key);
}

function compareKeys(a: string | number | null, b: string | number | null): number {
  if (a === b) {
    return 0;
  }
  if (a === null) {
    return 1;
  }
  if (b === null) {
    return -1;
  }
  if (typeof a === 'string' && typeof b === 'string') {
    return a.localeCompare(b);
  }
  return a < b ? -1 : 1;
}

function sortValue(run: IRunRecord, key: SortKey): string | number | null {
  switch (key) {
    case 'name':
      return runLabel(run).toLowerCase();
    case 'status':
      return run.status;
    case 'duration':
      return run.duration;
    default:
      return run.start_time;
  }
}

/**
 * A sorted copy. Runs without the value (no duration yet) come last in both
 * directions; ties keep the newest first, like the store's own ordering.
 */
export function sortRuns(
  runs: IRunRecord[],
  key: SortKey = 'start_time',
  direction: SortDirection = 'desc'
): IRunRecord[] {
  const sign = direction === 'asc' ? 1 : -1;
  return [...runs].sort((a, b) => {
    const va = sortValue(a, key);
    const vb = sortValue(b, key);
    if (va === null || vb === null) {
      const order = compareKeys(va, vb);
      if (order !== 0) {
        return order;
      }
    } else {
      const order = sign * compareKeys(va, vb);
      if (order !== 0) {
        return order;
      }
    }
    return b.start_time - a.start_time;
  });
}

export type ChangeKind = 'added' | 'removed' | 'changed';

export interface IChange {
  key: string;
  kind: ChangeKind;
  before: Value | undefined;
  after: Value | undefined;
  /** Numeric difference after - before, when both are numbers. */
  delta: number | null;
}

export interface IRunDiff {
  params: IChange[];
  metrics: IChange[];
  /** Data inputs whose fingerprint (content digest) changed. */
  inputs: IChange[];
}

function sameValue(a: Value | undefined, b: Value | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function diffMaps(
  before: { [key: string]: Value },
  after: { [key: string]: Value }
): IChange[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const changes: IChange[] = [];
  for (const key of keys) {
    const had = Object.prototype.hasOwnProperty.call(before, key);
    const has = Object.prototype.hasOwnProperty.call(after, key);
    const b = had ? before[key] : undefined;
    const a = has ? after[key] : undefined;
    if (had && has && sameValue(a, b)) {
      continue;
    }
    const kind: ChangeKind = !had ? 'added' : !has ? 'removed' : 'changed';
    const delta = typeof a === 'number' && typeof b === 'number' ? a - b : null;
    changes.push({ key, kind, before: b, after: a, delta });
  }
  return changes;
}

/** What changed from `previous` to `run`: params and metrics, sorted by key; unchanged keys omitted. */
export function diffRuns(previous: IRunRecord | null, run: IRunRecord): IRunDiff {
  const empty = {} as { [key: string]: Value };
  return {
    params: diffMaps(previous ? previous.params : empty, run.params),
    metrics: diffMaps(previous ? previous.metrics : empty, run.metrics),
    inputs: diffMaps((previous && previous.inputs) || empty, run.inputs || empty)
  };
}

/** A data input change: "X_train: different data (ndarray 900x12 float64 · 3f2a1b0c9d8e)". */
export function formatInputChange(change: IChange): string {
  if (change.kind === 'changed') {
    return `${change.key}: different data (${formatValue(change.after)})`;
  }
  return formatChange(change);
}

/** A change as one line of text: "lr: 0.1 → 0.01", "auc: (new) 0.9", "f1: 0.5 → 0.75 (+0.25)". */
export function formatChange(change: IChange): string {
  if (change.kind === 'added') {
    return `${change.key}: (new) ${formatValue(change.after)}`;
  }
  if (change.kind === 'removed') {
    return `${change.key}: ${formatValue(change.before)} (gone)`;
  }
  const delta =
    change.delta === null ? '' : ` (${change.delta >= 0 ? '+' : ''}${formatValue(change.delta)})`;
  return `${change.key}: ${formatValue(change.before)} → ${formatValue(change.after)}${delta}`;
}

/** `POST /nbtrack/api/runs/<id>/rerun`: the `nbtrack rerun --json` record plus its exit code. */
export interface IRerunResult {
  original: string;
  verified: boolean;
  reasons: string[];
  differing: string[];
  match: string | null;
  runs: string[];
  error: string | null;
  exit_code: number;
}

/** The rerun's verdict in one line: reproduced, or why not. */
export function formatRerun(result: IRerunResult): string {
  if (result.verified) {
    const by = result.match ? ` by run ${result.match.slice(0, 8)}` : '';
    return `Reproduced in a fresh kernel: verified${by}.`;
  }
  const why = result.reasons.length ? result.reasons.join('; ') : result.error || 'not verified';
  return `Not reproduced: ${why}.`;
}
