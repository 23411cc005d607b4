// Parse every Mermaid block given as a JSON list on stdin with mermaid's own parser (no browser:
// jsdom supplies the DOM it expects). Prints one line per block that does not parse; exit 1 if any.
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
globalThis.DOMParser = dom.window.DOMParser;
globalThis.Element = dom.window.Element;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

let input = "";
for await (const chunk of process.stdin) input += chunk;
let bad = 0;
for (const [i, block] of JSON.parse(input).entries()) {
  try {
    await mermaid.parse(block);
  } catch (err) {
    bad += 1;
    console.log(`block ${i}: ${String(err.message || err).split("\n").join(" ")}`);
  }
}
process.exit(bad ? 1 : 0);
