/**
 * Plugin wiring of the runs side panel: the left sidebar entry, and when to
 * reload it (the current notebook changes, a kernel reports `run_ended`, the
 * user clicks Refresh). The panel itself lives in panel.ts.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';

import { INbtrackLab } from './tokens';
import { PANEL_ID, RunsPanel } from './panel';

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">' +
  '<g class="jp-icon3" fill="#616161">' +
  '<path d="M3 13h2v-2H3v2zm0 4h2v-2H3v2zm0-8h2V7H3v2zm4 4h14v-2H7v2zm0 4h14v-2H7v2zM7 7v2h14V7H7z"/>' +
  '<circle cx="19" cy="19" r="3"/></g></svg>';

export const runsIcon = new LabIcon({ name: 'nbtrack:runs', svgstr: ICON_SVG });

function activate(
  app: JupyterFrontEnd,
  lab: INbtrackLab,
  tracker: INotebookTracker,
  restorer: ILayoutRestorer | null
): RunsPanel {
  const panel = new RunsPanel();
  panel.title.icon = runsIcon;
  app.shell.add(panel, 'left', { rank: 650 });
  restorer?.add(panel, PANEL_ID);

  const contents = app.serviceManager.contents;
  const follow = (notebook: NotebookPanel | null) => {
    panel.setNotebook(notebook ? contents.localPath(notebook.context.path) : null);
  };
  tracker.currentChanged.connect((_, notebook) => follow(notebook));
  follow(tracker.currentWidget);
  // a rename changes the path the runs are filed under
  tracker.widgetUpdated.connect((_, notebook) => {
    if (notebook === tracker.currentWidget) {
      follow(notebook);
    }
  });
  lab.runEnded.connect(() => void panel.refresh());
  return panel;
}

export const runsPanelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'nbtrack:runs-panel',
  description: "Left sidebar panel listing the current notebook's nbtrack runs.",
  autoStart: true,
  requires: [INbtrackLab, INotebookTracker],
  optional: [ILayoutRestorer],
  activate: (app, lab, tracker, restorer) => {
    activate(app, lab, tracker, restorer);
  }
};
