// Bundle every widget entry point into ../static as one self-contained ESM each.
// Nothing is loaded from a CDN at run time: hospital networks and CI are offline.
import * as esbuild from "esbuild";

const watch = process.argv.includes("--watch");
const options = {
  entryPoints: { viewer: "src/viewer.js" },
  bundle: true,
  format: "esm",
  minify: !watch,
  sourcemap: watch ? "inline" : false,
  target: ["es2020"],
  outdir: "../static",
  logLevel: "info",
};

if (watch) {
  const context = await esbuild.context(options);
  await context.watch();
} else {
  await esbuild.build(options);
}
