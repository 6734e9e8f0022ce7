// Performance marks on the path to the first annotations on screen ("elv:<stage>"), first
// occurrence only. They cost a few microseconds; benchmarks/viewer_vs_leaflet.py --trace reads
// them (performance.timeOrigin + startTime is the page's wall clock, as the kernel's stamps).
const seen = new Set();

export function mark(stage) {
  if (seen.has(stage)) return;
  seen.add(stage);
  try {
    performance.mark(`elv:${stage}`);
  } catch (_err) {
    // marks are only a trace: never let them break the widget
  }
}
