/**
 * The runs side panel: the current notebook's runs (name, status, time, key
 * metrics, receipt badge), the selected run's params, metrics and changes
 * since the previous run, and a re-run button.
 *
 * Every piece of user text (run names, params, errors, paths) goes into the DOM
 * through `textContent` or attribute setters, never `innerHTML`: a run named
 * `<img src=x onerror=...>` must stay text.
 */
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { RunsClient } from './panelapi';
import {
  IRunDetail,
  IRunRecord,
  SortDirection,
  SortKey,
  Value,
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
} from './panelmodel';

export const PANEL_ID = 'nbtrack-runs-panel';

const SORTS: { [label: string]: [SortKey, SortDirection] } = {
  'newest first': ['start_time', 'desc'],
  'oldest first': ['start_time', 'asc'],
  'name': ['name', 'asc'],
  'longest first': ['duration', 'desc'],
  'status': ['status', 'asc']
};

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

export class RunsPanel extends Widget {
  constructor(private readonly client: RunsClient = new RunsClient()) {
    super();
    this.id = PANEL_ID;
    this.addClass('nbtrack-runs-panel');
    this.title.caption = 'nbtrack runs';
    this.node.append(this._buildHeader(), this._status, this._list, this._detail);
    this._list.className = 'nbtrack-runs-list';
    this._list.setAttribute('role', 'listbox');
    this._status.className = 'nbtrack-runs-status';
    this._detail.className = 'nbtrack-runs-detail';
    this._setStatus('Open a notebook to see its runs.');
  }

  /** The server-relative path of the notebook shown, or null. */
  get notebook(): string | null {
    return this._notebook;
  }

  /** Show `path`'s runs (null: no notebook); a different notebook clears the selection. */
  setNotebook(path: string | null): void {
    if (path === this._notebook) {
      return;
    }
    this._notebook = path;
    this._selected = null;
    this._runs = [];
    this._title.textContent = path ?? 'No notebook';
    this._title.title = path ?? '';
    this._detail.replaceChildren();
    void this.refresh();
  }

  /**
   * Reload the list (and the selected run). Calls while one is in flight are
   * coalesced into one more reload after it, so a burst of run ends costs two.
   */
  async refresh(): Promise<void> {
    if (this._loading) {
      this._again = true;
      return this._loading;
    }
    this._loading = this._load().finally(() => {
      this._loading = null;
      if (this._again) {
        this._again = false;
        void this.refresh();
      }
    });
    return this._loading;
  }

  /** Select a run and load its detail. */
  async select(runId: string): Promise<void> {
    this._selected = runId;
    this._renderList();
    const notebook = this._notebook;
    if (notebook === null) {
      return;
    }
    try {
      const detail = await this.client.detail(notebook, runId);
      if (this._selected === runId && this._notebook === notebook) {
        this._renderDetail(detail);
      }
    } catch (error) {
      this._detail.replaceChildren(el('p', 'nbtrack-runs-error', String((error as Error).message)));
    }
  }

  /** Runs may have been logged elsewhere (CLI, another kernel) while hidden. */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (this._notebook !== null) {
      void this.refresh();
    }
  }

  private async _load(): Promise<void> {
    const notebook = this._notebook;
    if (notebook === null) {
      this._runs = [];
      this._renderList();
      this._setStatus('Open a notebook to see its runs.');
      return;
    }
    this._refreshButton.disabled = true;
    try {
      const list = await this.client.list(notebook);
      if (notebook !== this._notebook) {
        return;
      }
      this._runs = list.runs;
      this._rerunAvailable = list.rerun;
      this._title.title = `${notebook}\nstore: ${list.store}`;
      this._setStatus(list.runs.length ? '' : 'No runs of this notebook yet: run a %%track cell.');
      this._renderList();
      if (this._selected !== null) {
        if (list.runs.some(r => r.id === this._selected)) {
          await this.select(this._selected);
        } else {
          this._selected = null;
          this._detail.replaceChildren();
        }
      }
    } catch (error) {
      if (notebook === this._notebook) {
        this._setStatus(String((error as Error).message), true);
      }
    } finally {
      this._refreshButton.disabled = false;
    }
  }

  private _buildHeader(): HTMLElement {
    const header = el('div', 'nbtrack-runs-header');
    const heading = el('div', 'nbtrack-runs-heading', 'Runs');
    this._title.className = 'nbtrack-runs-notebook';
    this._title.textContent = 'No notebook';
    const controls = el('div', 'nbtrack-runs-controls');
    this._sort.className = 'nbtrack-runs-sort jp-mod-styled';
    this._sort.title = 'Sort runs';
    for (const label of Object.keys(SORTS)) {
      this._sort.append(new Option(label, label));
    }
    this._sort.addEventListener('change', () => this._renderList());
    this._refreshButton.className = 'nbtrack-runs-refresh jp-mod-styled';
    this._refreshButton.textContent = 'Refresh';
    this._refreshButton.title = 'Reload the runs of this notebook';
    this._refreshButton.addEventListener('click', () => void this.refresh());
    controls.append(this._sort, this._refreshButton);
    header.append(heading, this._title, controls);
    return header;
  }

  private _setStatus(text: string, error = false): void {
    this._status.textContent = text;
    this._status.classList.toggle('nbtrack-runs-error', error);
    this._status.hidden = text === '';
  }

  private _renderList(): void {
    const [key, direction] = SORTS[this._sort.value] ?? SORTS['newest first'];
    const metrics = keyMetrics(this._runs);
    const now = Date.now();
    const items = sortRuns(this._runs, key, direction).map(run => {
      const item = el('li', 'nbtrack-runs-item');
      item.dataset.runId = run.id;
      item.tabIndex = 0;
      item.setAttribute('role', 'option');
      item.setAttribute('aria-selected', String(run.id === this._selected));
      item.classList.toggle('jp-mod-selected', run.id === this._selected);
      const head = el('div', 'nbtrack-runs-item-head');
      head.append(
        el('span', 'nbtrack-runs-name', runLabel(run)),
        el('span', `nbtrack-runs-state nbtrack-runs-state-${run.status.toLowerCase()}`, run.status)
      );
      if (run.badge) {
        head.append(el('span', `nbtrack-runs-badge nbtrack-runs-badge-${run.badge_kind || 'none'}`, run.badge));
      }
      head.append(...this._modelBadges(run));
      const original = rerunOf(run);
      if (original) {
        const marker = el('span', 'nbtrack-runs-badge nbtrack-runs-rerun-of', 'rerun');
        marker.title = `Re-execution of run ${original.slice(0, 8)} in a fresh kernel`;
        head.append(marker);
      }
      const meta = el('div', 'nbtrack-runs-item-meta');
      meta.append(
        el('span', 'nbtrack-runs-time', formatTime(run.start_time, now)),
        el('span', 'nbtrack-runs-duration', formatDuration(run.duration))
      );
      const shown = metrics.filter(k => k in run.metrics);
      if (shown.length) {
        meta.append(
          el(
            'span',
            'nbtrack-runs-metrics',
            shown.map(k => `${k} ${formatValue(run.metrics[k])}`).join(' · ')
          )
        );
      }
      item.append(head, meta);
      item.addEventListener('click', () => void this.select(run.id));
      item.addEventListener('keydown', event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          void this.select(run.id);
        }
      });
      return item;
    });
    this._list.replaceChildren(...items);
  }

  private _renderDetail(detail: IRunDetail): void {
    const run = detail.run;
    const header = el('div', 'nbtrack-runs-detail-head');
    header.append(el('h3', 'nbtrack-runs-detail-name', runLabel(run)));
    const facts = el('div', 'nbtrack-runs-detail-facts');
    facts.append(
      el('span', '', `${run.status} · ${formatTime(run.start_time)} · ${formatDuration(run.duration)}`),
      el('code', 'nbtrack-runs-detail-id', run.id)
    );
    header.append(facts, this._rerunButton(run));
    const parts: HTMLElement[] = [header];
    parts.push(this._section('Params', this._table(run.params)));
    parts.push(this._section('Metrics', this._table(run.metrics)));
    if (run.inputs && Object.keys(run.inputs).length) {
      parts.push(this._section('Data inputs', this._table(run.inputs)));
    }
    const badges = this._modelBadges(run);
    if (badges.length) {
      const list = el('div', 'nbtrack-runs-models');
      list.append(...badges);
      parts.push(this._section('Registered as', list));
    }
    parts.push(this._diffSection(detail));
    if (run.error) {
      parts.push(this._section('Error', el('pre', 'nbtrack-runs-detail-error', run.error)));
    }
    this._detail.replaceChildren(...parts);
  }

  private _rerunButton(run: IRunRecord): HTMLElement {
    const wrap = el('div', 'nbtrack-runs-rerun-wrap');
    const button = el('button', 'nbtrack-runs-rerun jp-mod-styled', 'Re-run');
    const verdict = this._verdicts.get(run.id);
    if (!this._rerunAvailable) {
      button.disabled = true;
      button.title = 'Not available: this nbtrack has no `nbtrack rerun` command yet.';
    } else {
      button.title = "Execute this run's notebook snapshot in a fresh kernel and check that it reproduces";
      button.addEventListener('click', () => void this._rerun(run));
    }
    if (this._rerunning.has(run.id)) {
      button.disabled = true;
      button.textContent = 'Re-running…';
    }
    wrap.append(button);
    if (verdict) {
      const output = el('pre', 'nbtrack-runs-rerun-output', verdict.text);
      output.classList.toggle('nbtrack-runs-error', verdict.error);
      wrap.append(output);
    }
    return wrap;
  }

  /** Re-run; the verdict is kept per run so the reloads that follow show it. */
  private async _rerun(run: IRunRecord): Promise<void> {
    const notebook = this._notebook;
    if (notebook === null || this._rerunning.has(run.id)) {
      return;
    }
    this._rerunning.add(run.id);
    this._verdicts.set(run.id, { text: 'Executing the snapshot in a fresh kernel…', error: false });
    await this.select(run.id);
    try {
      const result = await this.client.rerun(notebook, run.id);
      this._verdicts.set(run.id, { text: formatRerun(result), error: !result.verified });
    } catch (error) {
      this._verdicts.set(run.id, { text: String((error as Error).message), error: true });
    } finally {
      this._rerunning.delete(run.id);
    }
    await this.refresh();
  }

  private _modelBadges(run: IRunRecord): HTMLElement[] {
    return modelBadges(run).map(badge => {
      const node = el('span', `nbtrack-runs-badge nbtrack-runs-model nbtrack-runs-model-${badge.stage}`, badge.text);
      node.title = badge.title;
      return node;
    });
  }

  private _section(title: string, body: HTMLElement): HTMLElement {
    const section = el('section', 'nbtrack-runs-section');
    section.append(el('h4', '', title), body);
    return section;
  }

  private _table(values: { [key: string]: Value }): HTMLElement {
    const keys = Object.keys(values).sort();
    if (!keys.length) {
      return el('p', 'nbtrack-runs-empty', 'none');
    }
    const table = el('table', 'nbtrack-runs-kv');
    for (const key of keys) {
      const row = el('tr');
      row.append(el('th', '', key), el('td', '', formatValue(values[key])));
      table.append(row);
    }
    return table;
  }

  private _diffSection(detail: IRunDetail): HTMLElement {
    const previous = detail.previous;
    const title = !previous
      ? 'Changes'
      : rerunOf(detail.run) === previous.id
        ? `Changes against the original run ${runLabel(previous)}`
        : `Changes since ${runLabel(previous)}`;
    if (!previous) {
      return this._section(title, el('p', 'nbtrack-runs-empty', 'First run of this notebook.'));
    }
    const diff = diffRuns(previous, detail.run);
    const list = el('ul', 'nbtrack-runs-diff');
    for (const [group, changes] of [
      ['param', diff.params],
      ['metric', diff.metrics],
      ['input', diff.inputs]
    ] as const) {
      for (const change of changes) {
        const text = group === 'input' ? formatInputChange(change) : formatChange(change);
        const item = el('li', `nbtrack-runs-diff-${change.kind}`, text);
        item.dataset.kind = group;
        list.append(item);
      }
    }
    if (!list.childElementCount) {
      return this._section(title, el('p', 'nbtrack-runs-empty', 'Same params, metrics and data.'));
    }
    return this._section(title, list);
  }

  private _notebook: string | null = null;
  private _runs: IRunRecord[] = [];
  private _selected: string | null = null;
  private _rerunAvailable = false;
  private _loading: Promise<void> | null = null;
  private readonly _verdicts = new Map<string, { text: string; error: boolean }>();
  private readonly _rerunning = new Set<string>();
  private _again = false;
  private readonly _title = el('div');
  private readonly _status = el('div');
  private readonly _list = el('ul');
  private readonly _detail = el('div');
  private readonly _sort = el('select');
  private readonly _refreshButton = el('button');
}
