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

// -> {kind: "http", url, headers} | {kind: "comm", source: OpenSeadragon.TileSource}
export async function openTiles(model, rpc) {
  const mode = model.get("tile_mode");
  const token = model.get("tile_token");
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  if (mode !== "comm") {
    const url = joinUrl(serverBaseUrl(), model.get("dzi_url"));
    let response = null;
    try {
      response = await fetch(url, { headers, credentials: "same-origin" });
    } catch (_err) {
      response = null;
    }
    if (response && response.ok) return { kind: "http", url, headers };
    let detail = null;
    if (response) {
      try {
        detail = (await response.json()).detail ?? null;
      } catch (_err) {
        detail = null; // not the extension answering (an HTML 404 page): fall back to the comm
      }
    }
    if (detail !== null || mode === "http") {
      throw new TileAccessError(httpProblem(response ? response.status : 0, detail));
    }
  }
  if (!(model.get("comm_tiles") || {}).available) {
    throw new TileAccessError(
      "No tiles: the exact_lab server extension does not answer here and the kernel cannot read this slide's file.",
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
