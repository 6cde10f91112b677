import assert from "node:assert/strict";
import { htmlTable } from "../../lib/plots/html-table";

describe("htmlTable", () => {
  it("escapes text, right-aligns numbers to `digits` and scrolls inside the column", () => {
    const html = htmlTable([{ system: "a<b>&\"c\"", ndcg: 0.123456, n: 43 }], { digits: 3, caption: "x < y" });
    assert.match(html, /^<div class="rra-table" style="overflow-x:auto;max-width:100%"><table>/);
    assert.match(html, /<\/table><\/div>$/);
    assert.match(html, /<td style="text-align:left">a&lt;b&gt;&amp;&quot;c&quot;<\/td>/);
    assert.match(html, /<td style="text-align:right">0\.123<\/td><td style="text-align:right">43<\/td>/);
    assert.match(html, /<caption[^>]*>x &lt; y<\/caption>/);
  });

  it("says so when there are no rows", () => {
    assert.equal(htmlTable([]), "<p><em>(no rows)</em></p>");
  });
});
