import assert from "node:assert/strict";
import { redactSecrets, secretForms } from "../../lib/core/redact";

const KEY = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z";

describe("redactSecrets (issue 15 item 11)", () => {
  it("redacts the key as is, JSON-escaped, URL-encoded, in hex and in base64 at any alignment", () => {
    const odd = "sk/te+st=key \"quoted\" ü";
    const texts = [
      `plain ${KEY} end`,
      `json ${JSON.stringify({ key: odd })}`,
      `url ${encodeURIComponent(odd)}`,
      `hex ${Buffer.from(KEY).toString("hex")}`,
      `b64 ${Buffer.from(KEY).toString("base64")}`,
      `b64url ${Buffer.from(odd).toString("base64url")}`,
      ...["Bearer ", "x:", "ab"].map((p) => `inside ${Buffer.from(p + KEY + " trailing").toString("base64")}`),
    ];
    for (const t of texts) {
      const out = redactSecrets(t, [KEY, odd]);
      assert.match(out, /\*\*\*/, t);
      for (const form of [...secretForms(KEY), ...secretForms(odd)]) assert.ok(!out.includes(form), `${form} survives in ${out}`);
      // nothing of the key longer than 2 bytes survives in any base64 form at any alignment
      const b64 = out.match(/[A-Za-z0-9+/_-]{12,}/g) ?? [];
      for (const chunk of b64) assert.ok(!Buffer.from(chunk, "base64").toString("latin1").includes(KEY.slice(4, 12)), `${chunk} decodes to part of the key`);
    }
  });

  it("redacts an OpenAI-style masked key, which keeps the key's head and tail", () => {
    const masked = `${KEY.slice(0, 8)}${"*".repeat(28)}${KEY.slice(-4)}`;
    assert.equal(redactSecrets(`Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`, [KEY]),
      "Incorrect API key provided: ***. You can find your API key at https://platform.openai.com/account/api-keys.");
    assert.equal(redactSecrets(`key ****${KEY.slice(-4)} rejected`, [KEY]), "key *** rejected");
    assert.equal(redactSecrets("a table of ***** stars and x***y", [KEY]), "a table of ***** stars and x***y", "other masks stay");
  });

  it("keeps text without the key, ignores short secrets, and with bearerTokens hides any Bearer token", () => {
    assert.equal(redactSecrets("nothing to hide here", [KEY]), "nothing to hide here");
    assert.equal(redactSecrets("abc abc", ["abc"]), "abc abc");
    assert.equal(redactSecrets("Authorization: Bearer someOtherToken123", [KEY], { bearerTokens: true }), "Authorization: Bearer ***");
  });
});
