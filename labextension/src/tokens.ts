/**
 * The `INbtrackLab` token, in a module of its own so plugins in this package
 * can require it without importing index.ts (which imports them: a cycle).
 */
import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

import { IRunEndedEvent } from './commchannel';

/** What the notebook-push plugin provides to other plugins (the runs panel). */
export interface INbtrackLab {
  /** Fires for every `{"type": "run_ended"}` a kernel sends on the comm. */
  readonly runEnded: ISignal<unknown, IRunEndedEvent>;
}

export const INbtrackLab = new Token<INbtrackLab>(
  'nbtrack:INbtrackLab',
  'nbtrack live-notebook channel: run_ended events from kernels.'
);
