/**
 * Client of the nbtrack server extension's runs API (`nbtrack/server`).
 * `ServerConnection.makeRequest` adds Jupyter's auth (token/cookie + XSRF).
 */
import { ServerConnection } from '@jupyterlab/services';

import { IRerunResult, IRunDetail, IRunList } from './panelmodel';

/** A failed API call, with the server's message (JSON `message`) when it sent one. */
export class RunsApiError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
  }
}

export class RunsClient {
  constructor(
    private readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  list(notebook: string): Promise<IRunList> {
    return this._call('GET', '', notebook);
  }

  detail(notebook: string, runId: string): Promise<IRunDetail> {
    return this._call('GET', encodeURIComponent(runId), notebook);
  }

  rerun(notebook: string, runId: string): Promise<IRerunResult> {
    return this._call('POST', `${encodeURIComponent(runId)}/rerun`, notebook);
  }

  private async _call<T>(method: string, path: string, notebook: string): Promise<T> {
    const base = this.settings.baseUrl.replace(/\/?$/, '/');
    const url =
      `${base}nbtrack/api/runs${path ? '/' + path : ''}` +
      `?notebook=${encodeURIComponent(notebook)}`;
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, { method }, this.settings);
    } catch (error) {
      throw new RunsApiError(0, `cannot reach the Jupyter server: ${String(error)}`);
    }
    const text = await response.text();
    let body: any = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (!response.ok) {
      const message =
        body && typeof body.message === 'string' && body.message
          ? body.message
          : response.status === 404 && !body
            ? 'the nbtrack server extension is not enabled (jupyter server extension list)'
            : `HTTP ${response.status}`;
      throw new RunsApiError(response.status, message);
    }
    return body as T;
  }
}
