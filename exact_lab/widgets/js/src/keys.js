// EXACT's keyboard map. Keys are handled inside the widget only and do not reach JupyterLab's
// own shortcuts (x, c, y, 0-9 would otherwise cut cells, change cell types, restart kernels).
export function keyAction(event) {
  const key = event.key;
  const ctrl = event.ctrlKey || event.metaKey;
  if (ctrl && (key === "z" || key === "Z")) return event.shiftKey ? "redo" : "undo";
  if (ctrl && (key === "y" || key === "Y")) return "redo";
  if (ctrl || event.altKey) return null;
  switch (key) {
    case "Delete":
    case "x":
    case "X":
      return "delete";
    case "Backspace":
      return "backspace";
    case "Escape":
      return "escape";
    case "Enter":
      return "enter";
    case "c":
    case "C":
      return "toggle-mode";
    case "y":
    case "Y":
      return "toggle-visible";
    case "b":
    case "B":
      return "background";
    case "h":
    case "H":
      return "home";
    case "q":
      return "previous-image";
    case "e":
      return "next-image";
    case "Q":
      return "previous-frame";
    case "E":
      return "next-frame";
    case "ArrowLeft":
      return "pan-left";
    case "ArrowRight":
      return "pan-right";
    case "ArrowUp":
      return "pan-up";
    case "ArrowDown":
      return "pan-down";
    default:
      if (/^[0-9]$/.test(key)) return `type:${key}`;
      return null;
  }
}
