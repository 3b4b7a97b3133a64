// The REST API as the dashboard uses it. The token lives in sessionStorage only: closing the tab
// logs out, and nothing is written to cookies or localStorage.
const KEY = 'otakit.token';

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

// An error as the server words it: {"error":{"code","message"}} -> ApiError(status, code, message).
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function toError(status, text) {
  try {
    const e = JSON.parse(text).error;
    if (e && e.code) return new ApiError(status, e.code, e.message);
  } catch (_) { /* not JSON: say what came back */ }
  return new ApiError(status, 'http_' + status, text || 'HTTP ' + status);
}

export const enc = encodeURIComponent;

// GET/POST/... path (relative to /api/v1), JSON body; resolves to the parsed answer or null (204).
export async function api(method, path, body) {
  const headers = { Authorization: 'Bearer ' + (token.get() || '') };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch('/api/v1' + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store',
  });
  const text = await res.text();
  if (!res.ok) throw toError(res.status, text);
  return text ? JSON.parse(text) : null;
}

// Uploads a file as the raw body of POST path (XMLHttpRequest: fetch reports no upload progress).
// onProgress(sentBytes, totalBytes). Resolves to the answer, rejects with an ApiError.
export function upload(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', '/api/v1' + path);
    x.setRequestHeader('Authorization', 'Bearer ' + (token.get() || ''));
    x.setRequestHeader('Content-Type', 'application/octet-stream');
    x.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    x.onload = () => (x.status >= 200 && x.status < 300 ? resolve(JSON.parse(x.responseText))
      : reject(toError(x.status, x.responseText)));
    x.onerror = () => reject(new ApiError(0, 'network', 'the upload could not reach the server'));
    x.send(file);
  });
}
