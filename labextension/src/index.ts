/**
 * Plugin wiring only: JupyterLab events -> NotebookPushController.
 * The logic lives in push.ts / commchannel.ts / controller.ts (unit tested).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  INotebookTracker,
  Notebook,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';
import { Kernel, Session } from '@jupyterlab/services';

import { CommChannelPool, IKernelLike } from './commchannel';
import { INotebookSource, NotebookPushController } from './controller';
import { runsPanelPlugin } from './panelplugin';
import { COMM_TARGET } from './protocol';
import { INbtrackLab } from './tokens';

export * from './protocol';
export { IRunEndedEvent } from './commchannel';
export { INbtrackLab } from './tokens';

type Context = NotebookPanel['context'];

interface IEntry {
  controller: NotebookPushController;
  panels: Set<NotebookPanel>;
}

function activate(
  app: JupyterFrontEnd,
  tracker: INotebookTracker
): INbtrackLab {
  const pool = new CommChannelPool(COMM_TARGET);
  const contents = app.serviceManager.contents;
  const byContext = new Map<Context, IEntry>();
  const contextOf = new WeakMap<Notebook, Context>();

  const attach = (panel: NotebookPanel): void => {
    const context = panel.context;
    contextOf.set(panel.content, context);
    const existing = byContext.get(context);
    if (existing) {
      // Another view of the same document: same session, same controller.
      existing.panels.add(panel);
    } else {
      byContext.set(context, createEntry(context, panel));
    }
    panel.disposed.connect(() => {
      const entry = byContext.get(context);
      if (!entry) {
        return;
      }
      entry.panels.delete(panel);
      if (entry.panels.size === 0) {
        byContext.delete(context);
        entry.controller.dispose();
      }
    });
  };

  const createEntry = (context: Context, panel: NotebookPanel): IEntry => {
    const source = (): INotebookSource | null => {
      const model = context.model;
      if (!model || model.isDisposed) {
        return null;
      }
      return {
        path: contents.localPath(context.path),
        cells: model.cells,
        metadata: model.metadata
      };
    };
    const controller = new NotebookPushController({ pool, source });
    const session = context.sessionContext;
    const asKernel = (k: Kernel.IKernelConnection | null | undefined) =>
      (k ?? null) as IKernelLike | null;
    session.kernelChanged.connect(
      (_, args: Session.ISessionConnection.IKernelChangedArgs) => {
        controller.setKernel(asKernel(args.newValue), args.newValue?.status);
      }
    );
    session.statusChanged.connect((_, status) => {
      controller.onKernelStatus(status);
    });
    const kernel = session.session?.kernel;
    controller.setKernel(asKernel(kernel), kernel?.status);
    return { controller, panels: new Set([panel]) };
  };

  tracker.forEach(attach);
  tracker.widgetAdded.connect((_, panel) => attach(panel));

  NotebookActions.executionScheduled.connect((_, { notebook, cell }) => {
    const context = contextOf.get(notebook);
    const entry = context && byContext.get(context);
    if (entry) {
      entry.controller.onExecutionScheduled(cell.model.id);
    }
  });

  return { runEnded: pool.runEnded };
}

const plugin: JupyterFrontEndPlugin<INbtrackLab> = {
  id: 'nbtrack:notebook-push',
  description:
    'Pushes the live notebook (cells, no outputs) to the kernel over the nbtrack.notebook comm.',
  autoStart: true,
  requires: [INotebookTracker],
  provides: INbtrackLab,
  activate
};

export default [plugin, runsPanelPlugin];
