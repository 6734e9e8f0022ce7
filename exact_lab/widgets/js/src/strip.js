// The thumbnail strip of an image set: one small picture per image, the shown one highlighted,
// a click shows another. Thumbnails come from the server extension's thumbnail endpoint when the
// tiles come over HTTP, else from the kernel over the widget channel (one request at a time, so
// a long set does not queue ahead of tiles and annotations). Only thumbnails scrolled into view
// are asked for, so a set of a thousand images costs what the visible ones cost.
import { joinUrl, serverBaseUrl } from "./base_url.js";

const SIZE = 96;

export class ThumbStrip {
  constructor(host, model, rpc, onPick) {
    this.model = model;
    this.rpc = rpc;
    this.onPick = onPick;
    this.kind = null; // "http" | "comm", known after the first slide opened
    this.urls = []; // blob URLs to revoke
    this.generation = 0;
    this.queue = []; // [id, img, item] waiting for the widget channel
    this.fetching = false;
    this.observer = null;
    this.el = document.createElement("div");
    this.el.className = "elv-strip";
    this.el.setAttribute("role", "listbox");
    this.el.setAttribute("aria-label", "Images of the set");
    host.append(this.el);
  }

  // Build the strip for tiles of this kind ("http" or "comm"); again when the image list changes.
  load(kind) {
    if (kind) this.kind = kind;
    if (!this.kind) return;
    this.generation += 1;
    const generation = this.generation;
    this.revoke();
    const images = this.model.get("images") || [];
    this.el.replaceChildren();
    this.el.style.display = images.length > 1 ? "" : "none";
    this.queue = [];
    if (this.observer) this.observer.disconnect();
    const wanted = new Map(); // item -> load()
    this.observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting || !wanted.has(entry.target)) continue;
        const load = wanted.get(entry.target);
        wanted.delete(entry.target);
        this.observer.unobserve(entry.target);
        load();
      }
    }, { root: this.el, rootMargin: "0px 300px" });
    images.forEach((row, index) => {
      const item = document.createElement("button");
      item.type = "button";
      item.className = "elv-thumb";
      item.dataset.image = String(row.id);
      item.dataset.index = String(index);
      item.title = `${row.name} (${index + 1}/${images.length})`;
      item.setAttribute("role", "option");
      const img = document.createElement("img");
      img.alt = row.name;
      img.width = SIZE;
      img.height = Math.round(SIZE * 0.75);
      img.addEventListener("load", () => {
        item.dataset.loaded = "true";
      });
      img.addEventListener("error", () => {
        item.dataset.loaded = "error";
      });
      const label = document.createElement("span");
      label.className = "elv-thumb-name";
      label.textContent = row.name;
      item.append(img, label);
      item.addEventListener("click", () => this.onPick(index));
      this.el.append(item);
      wanted.set(item, () => {
        if (this.kind === "http") {
          img.src = joinUrl(serverBaseUrl(), `exact/api/v1/images/images/${row.id}/thumbnail/?size=${SIZE}`);
        } else {
          this.queue.push([row.id, img, item, generation]);
          this.fetchOverChannel();
        }
      });
      this.observer.observe(item);
    });
    this.update();
  }

  // One kernel request at a time; a rebuilt strip (new generation) drops what is left.
  async fetchOverChannel() {
    if (this.fetching) return;
    this.fetching = true;
    try {
      while (this.queue.length) {
        const [id, img, item, generation] = this.queue.shift();
        if (generation === this.generation) await this.fetchOne(id, img, item, generation);
      }
    } finally {
      this.fetching = false;
    }
  }

  async fetchOne(id, img, item, generation) {
    try {
      const { buffers } = await this.rpc("_cmd_thumbnail", { image: id, size: SIZE });
      if (generation !== this.generation) return;
      const url = URL.createObjectURL(new Blob([buffers[0]], { type: "image/png" }));
      this.urls.push(url);
      img.src = url;
    } catch (err) {
      item.dataset.loaded = "error";
      item.title = `${item.title}: ${err.message}`;
    }
  }

  // Highlight the shown image and keep it in view.
  update() {
    const current = (this.model.get("image_info") || {}).id;
    for (const item of this.el.children) {
      const on = Number(item.dataset.image) === current;
      item.setAttribute("aria-selected", String(on));
      if (on && this.el.scrollWidth > this.el.clientWidth) {
        const left = item.offsetLeft - (this.el.clientWidth - item.offsetWidth) / 2;
        this.el.scrollLeft = Math.max(0, left);
      }
    }
  }

  revoke() {
    for (const url of this.urls) URL.revokeObjectURL(url);
    this.urls = [];
  }

  destroy() {
    this.generation += 1;
    if (this.observer) this.observer.disconnect();
    this.revoke();
    this.el.remove();
  }
}
