// Request/response with the kernel (anywidget's experimental.invoke) and small timing helpers.

export function toArrayBuffer(buffer) {
  if (buffer instanceof ArrayBuffer) return buffer;
  if (ArrayBuffer.isView(buffer)) {
    return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
  }
  throw new TypeError("not a binary buffer");
}

export class KernelError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

// How long a command may take before the browser stops waiting (a hang guard). anywidget's
// default is 3 s, which a busy kernel exceeds: the edit is then made but its answer is lost.
export const COMMAND_TIMEOUT_MS = 120_000;

// call("_cmd_region", {...}) -> {response, buffers: ArrayBuffer[]}; an {error} answer throws.
export function makeRpc(experimental) {
  return async function call(name, msg = {}) {
    const signal = AbortSignal.timeout(COMMAND_TIMEOUT_MS);
    const [response, buffers] = await experimental.invoke(name, msg, { signal });
    if (response && response.error) throw new KernelError(response.error, response.message);
    return { response, buffers: (buffers || []).map(toArrayBuffer) };
  };
}

export function debounce(fn, wait) {
  let timer = null;
  const wrapped = (...args) => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn(...args);
    }, wait);
  };
  wrapped.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  return wrapped;
}
