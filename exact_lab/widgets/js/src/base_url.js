// The Jupyter server's base URL as the page knows it (JupyterLab, Notebook 7 and Voila all embed
// a #jupyter-config-data script). Every exact_lab URL is built from it, so the same widget works
// under /, /user/NAME/ and /services/exact/.
export function serverBaseUrl(doc = document) {
  const node = doc.getElementById("jupyter-config-data");
  if (node) {
    try {
      const config = JSON.parse(node.textContent || "{}");
      if (config.baseUrl) return ensureSlash(config.baseUrl);
    } catch (_err) {
      // fall through to the default below
    }
  }
  return "/";
}

export function joinUrl(base, path) {
  return ensureSlash(base) + String(path).replace(/^\/+/, "");
}

function ensureSlash(url) {
  return url.endsWith("/") ? url : `${url}/`;
}
