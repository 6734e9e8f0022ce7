// Where tiles come from: the exact_lab server extension over HTTP (base_url-relative EXACT
// paths), or, when no extension answers, the kernel over the widget channel.
import OpenSeadragon from "openseadragon";
import { joinUrl, serverBaseUrl } from "./base_url.js";

export class TileAccessError extends Error {}

function httpProblem(status, detail) {
  if (status === 403 || status === 404) {
    return `You do not have access to this slide (or it does not exist): ${detail || `HTTP ${status}`}`;
  }
  return `The slide cannot be read: ${detail || `HTTP ${status}`}`;
}

// Who the server extension acts as for this page's Jupyter login (its owner on a plain Jupyter
// server, the hub user under JupyterHub); null when no exact_lab extension answers.
async function serverUser() {
  try {
    const response = await fetch(joinUrl(serverBaseUrl(), "exact/api/status"), { credentials: "same-origin" });
    if (!response.ok) return null;
    const status = await response.json();
    return status && status.extension === "exact_lab" ? String(status.user || "") : null;
  } catch (_err) {
    return null;
  }
}

// -> {kind: "http", url} | {kind: "comm", source: OpenSeadragon.TileSource}
// HTTP tiles use the page's Jupyter identity, so they are only used when the extension acts as
// the same store user as the kernel's viewer; otherwise the kernel (which checked its user's
// rights when it opened the image) sends the tiles over the widget channel.
export async function openTiles(model, rpc) {
  const mode = model.get("tile_mode");
  const kernelUser = (model.get("user") || {}).username || "";
  let mismatch = "";
  if (mode !== "comm") {
    const acting = await serverUser();
    if (acting !== null && acting !== kernelUser) {
      mismatch = `this Jupyter server serves tiles as ${JSON.stringify(acting)}, the viewer's store acts as ${JSON.stringify(kernelUser)}`;
    } else if (acting !== null) {
      const url = joinUrl(serverBaseUrl(), model.get("dzi_url"));
      let response = null;
      try {
        response = await fetch(url, { credentials: "same-origin" });
      } catch (_err) {
        response = null;
      }
      if (response && response.ok) return { kind: "http", url };
      let detail = null;
      if (response) {
        try {
          detail = (await response.json()).detail ?? null;
        } catch (_err) {
          detail = null;
        }
      }
      throw new TileAccessError(httpProblem(response ? response.status : 0, detail));
    }
    if (mode === "http") {
      throw new TileAccessError(
        mismatch ? `No HTTP tiles: ${mismatch}.` : "No HTTP tiles: the exact_lab server extension does not answer here.",
      );
    }
  }
  if (!(model.get("comm_tiles") || {}).available) {
    throw new TileAccessError(
      mismatch
        ? `No tiles: ${mismatch}, and the kernel cannot read this slide's file.`
        : "No tiles: the exact_lab server extension does not answer here and the kernel cannot read this slide's file.",
    );
  }
  const { response } = await rpc("_cmd_describe_tiles");
  return { kind: "comm", source: commTileSource(response.ok, model, rpc) };
}

function commTileSource(info, model, rpc) {
  const image = model.get("image_info").id;
  const frame = model.get("frame");
  const source = new OpenSeadragon.TileSource({
    width: info.width,
    height: info.height,
    tileSize: info.tileSize,
    tileOverlap: info.tileOverlap,
    minLevel: 0,
  });
  source.getTileUrl = (level, x, y) => `exact-comm:${image}/${frame}/${level}/${x}_${y}`;
  source.downloadTileStart = (context) => {
    const match = /\/(\d+)\/(\d+)_(\d+)$/.exec(context.src);
    if (!match) {
      context.fail("bad tile address", null);
      return;
    }
    const [, level, x, y] = match.map(Number);
    rpc("_cmd_tile", { level, x, y, frame })
      .then(({ buffers }) => context.finish(new Blob([buffers[0]], { type: "image/jpeg" }), null, "rasterBlob"))
      .catch((err) => context.fail(String(err && err.message), null));
  };
  source.downloadTileAbort = () => {};
  return source;
}
