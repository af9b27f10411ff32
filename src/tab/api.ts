/**
 * The tab API client: every call carries the tab's token, and a refused call becomes an {@link ApiError}
 * with the server's message (401 and 403 say why), which the views show as they are.
 */
import type { TabHost } from './host';

/** Where the tab API is mounted (routes in src/functions/tab-api.ts). */
export const API_BASE = '/api/tabapi/v1';

/** A refused or failed call, with the status and the server's message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The calls the views make. */
export interface Api {
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  /** A text download (CSV), with the file name the server suggests. */
  download(path: string, query?: Record<string, string | undefined>): Promise<{ name: string; text: string }>;
}

function url(path: string, query?: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return `${API_BASE}/${path}${s ? `?${s}` : ''}`;
}

async function failure(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`;
  let code: string | undefined;
  try {
    const body = (await res.json()) as { error?: string; message?: string; code?: string };
    message = body.error ?? body.message ?? message;
    code = body.code;
  } catch {
    // not JSON: keep the status line
  }
  if (res.status === 401) message = `Not signed in: ${message}`;
  if (res.status === 403) message = `Not allowed: ${message}`;
  return new ApiError(res.status, message, code);
}

/** An API client for `host`'s token. */
export function createApi(host: TabHost): Api {
  async function call(method: string, target: string, body?: unknown): Promise<Response> {
    const token = await host.token();
    let res: Response;
    try {
      res = await fetch(target, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, 'The Attest service did not answer. Check your connection and try again.');
    }
    if (!res.ok) throw await failure(res);
    return res;
  }
  return {
    async get<T>(path: string, query?: Record<string, string | number | undefined>) {
      return (await (await call('GET', url(path, query))).json()) as T;
    },
    async post<T>(path: string, body?: unknown) {
      return (await (await call('POST', url(path), body ?? {})).json()) as T;
    },
    async download(path: string, query?: Record<string, string | undefined>) {
      const res = await call('GET', url(path, query));
      const disposition = res.headers.get('content-disposition') ?? '';
      const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? 'attest.csv';
      return { name, text: await res.text() };
    },
  };
}

/** Offers `text` as a file download. */
export function saveFile(name: string, text: string, type = 'text/csv'): void {
  const href = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 1000);
}
