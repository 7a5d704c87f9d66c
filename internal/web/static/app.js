// chipgate dashboard: draws the charts and checks inclusion proofs in the
// browser. Loaded as a file (the CSP forbids inline scripts); htmx.onLoad
// runs setup for the first page and for every page htmx swaps in.
"use strict";

(function () {
  // ---- charts (uPlot) ----

  const palette = ["#1f5fa8", "#c2571a", "#2f8a3a", "#7a3fa0"];

  function drawChart(el) {
    if (el.dataset.drawn || typeof uPlot === "undefined") return;
    const c = JSON.parse(el.dataset.chart);
    const data = [c.x].concat(c.series.map((s) => s.values));
    const series = [{}].concat(c.series.map((s, i) => ({
      label: s.label,
      stroke: palette[i % palette.length],
      width: 2,
      fill: s.bars ? palette[i % palette.length] + "55" : undefined,
      paths: s.bars ? uPlot.paths.bars({ size: [0.6, 40] }) : undefined,
    })));
    const band = c.band;
    const opts = {
      title: c.title,
      width: Math.max(280, el.clientWidth || 600),
      height: 280,
      series: series,
      scales: { x: { time: true } },
      axes: [{}, { size: 70 }],
      hooks: {
        // The P50–P90 band: where the last promised unit arrives in half
        // and in nine tenths of the simulated futures.
        drawClear: band ? [(u) => {
          const x0 = u.valToPos(band.from, "x", true), x1 = u.valToPos(band.to, "x", true);
          const ctx = u.ctx;
          ctx.save();
          ctx.fillStyle = "rgba(194, 87, 26, 0.15)";
          ctx.fillRect(Math.min(x0, x1), u.bbox.top, Math.max(2, Math.abs(x1 - x0)), u.bbox.height);
          ctx.restore();
        }] : [],
      },
    };
    // The band's x values must be on the scale even past the last period.
    if (band) {
      opts.scales.x.range = (u, min, max) => [Math.min(min, band.from), Math.max(max, band.to)];
    }
    el.textContent = "";
    const plot = new uPlot(opts, data, el);
    if (band) {
      const cap = document.createElement("p");
      cap.className = "band-label";
      cap.textContent = band.label;
      el.appendChild(cap);
    }
    el.dataset.drawn = "1";
    const resize = () => plot.setSize({ width: Math.max(280, el.clientWidth), height: 280 });
    window.addEventListener("resize", resize);
  }

  // ---- inclusion proof (RFC 6962 / RFC 9162) ----

  const enc = new TextEncoder();

  function b64decode(s) {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function b64encode(bytes) {
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  }

  function concat(parts) {
    const n = parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }

  function be64(n) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, BigInt(n));
    return b;
  }

  function be32(n) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    return b;
  }

  function uuidBytes(s) {
    const hex = String(s).replace(/-/g, "");
    if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error("id is not a UUID");
    const out = new Uint8Array(16);
    for (let i = 0; i < 16; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
    return out;
  }

  // instant splits an RFC 3339 time into whole seconds since 1970 and
  // nanoseconds, keeping all nine digits that Date would drop.
  function instant(s) {
    const m = /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(String(s));
    if (!m) throw new Error("at is not an RFC 3339 time");
    const ms = Date.parse(m[1] + m[3]);
    if (Number.isNaN(ms)) throw new Error("at is not an RFC 3339 time");
    return { secs: Math.floor(ms / 1000), nanos: parseInt((m[2] || "0").padEnd(9, "0"), 10) };
  }

  // leafData is docs/LEDGER.md's leaf encoding, version 1.
  function leafData(r) {
    for (const f of ["index", "id", "at", "actor_user", "actor_party", "actor_role", "action", "subject_type", "subject_id"]) {
      if (r[f] === undefined || r[f] === null) throw new Error("the record has no " + f);
    }
    if (!Number.isSafeInteger(r.index) || r.index < 0) throw new Error("index must be a whole number");
    const t = instant(r.at);
    const parts = [enc.encode("chipgate/audit-record/v1\n"), be64(r.index), uuidBytes(r.id), be64(t.secs), be32(t.nanos)];
    for (const f of ["actor_user", "actor_party", "actor_role", "action", "subject_type", "subject_id"]) {
      const b = enc.encode(String(r[f]));
      parts.push(be32(b.length), b);
    }
    const payload = r.payload ? b64decode(r.payload) : new Uint8Array(0);
    parts.push(be32(payload.length), payload);
    return concat(parts);
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  const leafHash = (data) => sha256(concat([new Uint8Array([0]), data]));
  const nodeHash = (l, r) => sha256(concat([new Uint8Array([1]), l, r]));

  // rootFromPath is RFC 9162 section 2.1.3.2: the root that an audit path
  // leads to from leaf index of a tree of size.
  async function rootFromPath(index, size, leaf, path) {
    if (index >= size) throw new Error("index " + index + " is not below the tree size " + size);
    let fn = index, sn = size - 1, r = leaf;
    for (const p of path) {
      if (sn === 0) throw new Error("the path is too long");
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error("the path is too short");
    return r;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    let d = 0;
    for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  }

  function show(out, ok, lines) {
    out.textContent = "";
    out.className = ok ? "verdict ok" : "verdict bad";
    const h = document.createElement("p");
    h.className = "verdict-title";
    const words = document.getElementById("verify").dataset;
    h.textContent = ok ? (words.ok || "Verified: the record is in the log.") : (words.bad || "Not verified.");
    out.appendChild(h);
    const ul = document.createElement("ul");
    for (const l of lines) {
      const li = document.createElement("li");
      li.textContent = l;
      ul.appendChild(li);
    }
    out.appendChild(ul);
  }

  // openCheckpoint checks a signed note (golang.org/x/mod/sumdb/note) with
  // an Ed25519 verifier key "<name>+<hash>+<base64(0x01 || key)>" and returns
  // the checkpoint it carries: origin, size and root.
  async function openCheckpoint(note, vkey) {
    // name+hash+key, where the base64 key may hold "+" itself.
    const parts = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(vkey.trim());
    if (!parts) throw new Error("the verifier key is malformed");
    parts.shift();
    const name = parts[0], key = b64decode(parts[2]);
    if (key.length !== 33 || key[0] !== 1) throw new Error("the verifier key is not an Ed25519 key");
    const kh = (await sha256(concat([enc.encode(name + "\n"), key]))).slice(0, 4);
    if (b64encode(kh) !== b64encode(Uint8Array.from(parts[1].match(/../g).map((h) => parseInt(h, 16))))) {
      throw new Error("the verifier key's hash does not match its key");
    }
    const split = note.lastIndexOf("\n\n");
    if (split < 0) throw new Error("the checkpoint has no signature");
    const text = note.slice(0, split + 1);
    let sig = null;
    for (const line of note.slice(split + 2).split("\n")) {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const blob = b64decode(m[2]);
      if (blob.length === 68 && equal(blob.slice(0, 4), kh)) sig = blob.slice(4);
    }
    if (!sig) throw new Error("the checkpoint carries no signature by " + name);
    const pub = await crypto.subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, ["verify"]);
    if (!(await crypto.subtle.verify({ name: "Ed25519" }, pub, sig, enc.encode(text)))) {
      throw new Error("the checkpoint's signature does not verify with the key");
    }
    const lines = text.split("\n");
    if (lines.length < 4 || !/^[0-9]+$/.test(lines[1])) throw new Error("the checkpoint's body is malformed");
    return { origin: lines[0], size: parseInt(lines[1], 10), root: b64decode(lines[2]), rootText: lines[2], keyName: name };
  }

  async function verify(section, out, text) {
    if (!window.crypto || !crypto.subtle) {
      throw new Error("this browser offers no WebCrypto here (it needs HTTPS or localhost)");
    }
    let rec = JSON.parse(text);
    if (rec && rec.record) rec = rec.record; // a line of entries.jsonl
    // The root and size come from the signed note, checked here with the key
    // the auditor trusts, not from what the page says.
    const cp = await openCheckpoint(section.dataset.note, section.querySelector("#vkey").value);
    const root = cp.root;
    const size = cp.size;
    const leaf = await leafHash(leafData(rec));
    if (rec.index >= size) {
      throw new Error("record " + rec.index + " is newer than the checkpoint (size " + size + "); reload after the next checkpoint");
    }
    const resp = await fetch("/auditor/proof?index=" + rec.index + "&size=" + size, { credentials: "same-origin", headers: { "Accept": "application/json" } });
    const body = await resp.json();
    if (!resp.ok) throw new Error("the server gave no proof: " + (body.error || resp.status));
    const path = (body.hashes || []).map(b64decode);
    const got = await rootFromPath(rec.index, size, leaf, path);
    const lines = [
      "checkpoint signature: valid, by " + cp.keyName + " (origin " + cp.origin + ", size " + size + ")",
      "leaf hash computed here: " + b64encode(leaf),
      "audit path: " + path.length + " hashes",
      "root from the path: " + b64encode(got),
      "checkpoint root: " + cp.rootText,
    ];
    if (body.leaf_hash && body.leaf_hash !== b64encode(leaf)) {
      lines.push("the server's leaf hash differs: " + body.leaf_hash + " (the pasted record is not the one at this index)");
    }
    show(out, equal(got, root), lines);
  }

  function setupVerify(scope) {
    const section = scope.querySelector ? scope.querySelector("#verify") : null;
    if (!section || section.dataset.ready) return;
    section.dataset.ready = "1";
    const form = section.querySelector("#verify-form");
    const out = section.querySelector("#verify-result");
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      out.className = "verdict";
      out.textContent = document.getElementById("verify").dataset.checking || "Checking…";
      verify(section, out, section.querySelector("#record").value).catch((err) => show(out, false, [String(err.message || err)]));
    });
  }

  // ---- line counts (the vendor's serial numbers) ----

  // countLines says under a textarea how many non-blank lines it holds, the
  // count the server reads; the server says it again on submission.
  function countLines(out) {
    const area = document.getElementById(out.dataset.countLines);
    if (!area || out.dataset.ready) return;
    out.dataset.ready = "1";
    const update = () => {
      const n = area.value.split("\n").filter((l) => l.trim() !== "").length;
      // The words come from the page, in its language.
      out.textContent = n === 1 ? (out.dataset.one || "1 serial number read.") : (out.dataset.many || "{n} serial numbers read.").replace("{n}", n.toLocaleString(document.documentElement.lang));
    };
    area.addEventListener("input", update);
    if (area.value) update();
  }

  function setup(scope) {
    const root = scope && scope.querySelectorAll ? scope : document;
    root.querySelectorAll("[data-chart]").forEach(drawChart);
    root.querySelectorAll("[data-count-lines]").forEach(countLines);
    setupVerify(document);
  }

  if (typeof htmx !== "undefined") {
    htmx.onLoad(setup);
  } else {
    document.addEventListener("DOMContentLoaded", () => setup(document));
  }
})();
