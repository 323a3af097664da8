import { describe, expect, it } from "vitest";
import { decodeToken, encodeToken, pageOf } from "#local/lasso-sim/paging.ts";
import { encodableText } from "#local/lasso-sim/pdf.ts";
import { authHeaders } from "#local/lasso-sim/webhooks.ts";

describe("lasso-sim continuation tokens", () => {
  it("round-trips a cursor through an opaque token", () => {
    const cursor = {
      batchId: "d2e61fbf-7562-4ffb-ba33-52396c0ba12d",
      status: "Failed",
      offset: 100,
      epoch: 2,
    };
    const token = encodeToken(cursor);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(token).not.toContain("100");
    expect(decodeToken(token)).toEqual(cursor);
  });

  it("rejects tokens that are not ours", () => {
    expect(decodeToken("not a token")).toBeUndefined();
    expect(decodeToken(Buffer.from("[1,2]").toString("base64url"))).toBeUndefined();
    expect(decodeToken(Buffer.from('{"v":1,"b":"x","s":null,"o":-1}').toString("base64url"))).toBeUndefined();
    expect(decodeToken("e30")).toBeUndefined();
    expect(
      decodeToken(Buffer.from('{"v":1,"b":"x","s":null,"o":0,"e":-1}').toString("base64url")),
    ).toBeUndefined();
  });

  it("reads a token issued before epochs as epoch 0", () => {
    const token = Buffer.from('{"v":1,"b":"x","s":null,"o":50}').toString("base64url");
    expect(decodeToken(token)).toEqual({ batchId: "x", status: null, offset: 50, epoch: 0 });
  });

  it("pages with a token only while more items follow", () => {
    const all = [1, 2, 3, 4, 5];
    const first = pageOf(all, { batchId: "b", status: null, offset: 0, epoch: 0 }, 2);
    expect(first.items).toEqual([1, 2]);
    const second = pageOf(
      all,
      decodeToken(first.continuationToken ?? "") ?? { batchId: "", status: null, offset: 0, epoch: 0 },
      2,
    );
    expect(second.items).toEqual([3, 4]);
    const third = pageOf(
      all,
      decodeToken(second.continuationToken ?? "") ?? { batchId: "", status: null, offset: 0, epoch: 0 },
      2,
    );
    expect(third).toEqual({ items: [5], continuationToken: null });
    expect(
      pageOf([1, 2], { batchId: "b", status: null, offset: 0, epoch: 0 }, 2).continuationToken,
    ).toBeNull();
  });
});

describe("lasso-sim webhook auth headers", () => {
  it("applies Header, BasicAuth and Kerberos configurations", () => {
    expect(authHeaders(null)).toEqual({});
    expect(authHeaders({ method: "Header", key: "X-API-KEY", value: "dm12d82mdlakd2" })).toEqual({
      "X-API-KEY": "dm12d82mdlakd2",
    });
    expect(authHeaders({ method: "BasicAuth", key: "user", value: "pæss" })).toEqual({
      authorization: `Basic ${Buffer.from("user:pæss", "utf8").toString("base64")}`,
    });
    expect(authHeaders({ method: "Kerberos", key: "u", value: "p" })).toEqual({
      authorization: "Negotiate dTpw",
    });
  });
});

describe("lasso-sim PDF text", () => {
  it("keeps characters in the font's set and drops the rest", () => {
    const winAnsiish = new Set([..."Nørregaard ÆØÅæøå ApS"].map((c) => c.codePointAt(0) ?? 0));
    expect(encodableText("Nørregaard ApS ✓ 漢", winAnsiish)).toBe("Nørregaard ApS  ");
    // A decomposed "å" (a + combining ring) is composed first, then kept.
    expect(encodableText("a\u030a", winAnsiish)).toBe("å");
  });
});
