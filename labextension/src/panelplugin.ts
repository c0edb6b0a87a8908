/**
 * Plugin wiring of the runs side panel: the left sidebar entry, and when to
 * reload it. The panel itself lives in panel.ts.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import type { ISessionContext } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';

import { PANEL_ID, RunsPanel } from './panel';
import { INbtrackLab } from './tokens';

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">' +
  '<g class="jp-icon3" fill="#616161">' +
  '<path d="M3 13h2v-2H3v2zm0 4h2v-2H3v2zm0-8h2V7H3v2zm4 4h14v-2H7v2zm0 4h14v-2H7v2zM7 7v2h14V7H7z"/>' +
  '<circle cx="19" cy="19" r="3"/></g></svg>';

export const runsIcon = new LabIcon({ name: 'nbtrack:runs', svgstr: ICON_SVG });

/**
 * Keeps the panel on the current notebook and reloads it:
 * - when the current notebook changes or is renamed (runs are filed by path);
 * - on every `run_ended` a kernel sends over the nbtrack comm;
 * - when the current notebook's kernel turns idle after work. `run_ended`
 *   alone misses runs: it travels on the comm the frontend opens on an
 *   execution, and under Run All on a fresh kernel every cell is scheduled
 *   before `%load_ext nbtrack` registers the comm target, so that whole batch
 *   has no comm. Refreshes are coalesced by the panel.
 */
class PanelFollower {
  constructor(
    private readonly panel: RunsPanel,
    private readonly localPath: (path: string) => string
  ) {}

  follow(notebook: NotebookPanel | null): void {
    this.panel.setNotebook(notebook ? this.localPath(notebook.context.path) : null);
    const session = notebook?.sessionContext ?? null;
    if (session !== this._session) {
      this._session?.statusChanged.disconnect(this._onStatus, this);
      session?.statusChanged.connect(this._onStatus, this);
      this._session = session;
      this._busy = false;
    }
  }

  private _onStatus(_: ISessionContext, status: string): void {
    if (status === 'busy') {
      this._busy = true;
    } else if (status === 'idle' && this._busy) {
      this._busy = false;
      void this.panel.refresh();
    }
  }

  private _session: ISessionContext | null = null;
  private _busy = false;
}

function activate(
  app: JupyterFrontEnd,
  lab: INbtrackLab,
  tracker: INotebookTracker,
  restorer: ILayoutRestorer | null
): void {
  const panel = new RunsPanel();
  panel.title.icon = runsIcon;
  app.shell.add(panel, 'left', { rank: 650 });
  restorer?.add(panel, PANEL_ID);

  const contents = app.serviceManager.contents;
  const follower = new PanelFollower(panel, path => contents.localPath(path));
  tracker.currentChanged.connect((_, notebook) => follower.follow(notebook));
  tracker.widgetUpdated.connect((_, notebook) => {
    if (notebook === tracker.currentWidget) {
      follower.follow(notebook);
    }
  });
  follower.follow(tracker.currentWidget);
  lab.runEnded.connect(() => void panel.refresh());
}

export const runsPanelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'nbtrack:runs-panel',
  description: "Left sidebar panel listing the current notebook's nbtrack runs.",
  autoStart: true,
  requires: [INbtrackLab, INotebookTracker],
  optional: [ILayoutRestorer],
  activate
};
