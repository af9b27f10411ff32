#!/usr/bin/env node
/**
 * Draws the Teams app icons (appPackage/color.png 192x192, appPackage/outline.png 32x32) with no image
 * package: shapes are signed-distance tests sampled 4x4 per pixel, PNGs are written with node's zlib.
 * Run `node scripts/make-icons.js` after changing the shapes or the accent colour; the PNGs are committed.
 */
'use strict';
const { Buffer } = require('node:buffer');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

/** Accent colour, also the manifest's accentColor: NB. keep the two in step. */
const ACCENT = [0x1f, 0x4e, 0x8c];
const WHITE = [0xff, 0xff, 0xff];

// ---- PNG writer -------------------------------------------------------------------------------------------

const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** RGBA, 8 bits per channel, filter 0 on every row. */
function encodePng(width, height, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type: truecolour with alpha
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering
  ihdr[12] = 0; // no interlace
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0;
    rgba.copy(raw, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---- shapes, in a unit square (0,0 top-left .. 1,1 bottom-right) -------------------------------------------

/** A heater shield: flat top, straight sides down to 45 %, then two arcs meeting in a point. */
function insideShield(x, y, inset) {
  const top = 0.1 + inset;
  const bottom = 0.92 - inset * 1.4;
  const half = 0.36 - inset;
  const shoulder = 0.48;
  if (y < top || y > bottom) return false;
  const dx = Math.abs(x - 0.5);
  if (y <= shoulder) return dx <= half;
  // Below the shoulder the half-width shrinks along a quarter ellipse to 0 at the point.
  const t = (y - shoulder) / (bottom - shoulder);
  return dx <= half * Math.sqrt(Math.max(0, 1 - t * t));
}

function distanceToSegment(px, py, ax, ay, bx, by) {
  const vx = bx - ax;
  const vy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * vx + (py - ay) * vy) / (vx * vx + vy * vy)));
  return Math.hypot(px - (ax + t * vx), py - (ay + t * vy));
}

/** A check mark: two strokes with round caps. */
function insideCheck(x, y, thickness) {
  const a = [0.33, 0.5];
  const b = [0.45, 0.62];
  const c = [0.68, 0.36];
  return (
    distanceToSegment(x, y, a[0], a[1], b[0], b[1]) <= thickness / 2 ||
    distanceToSegment(x, y, b[0], b[1], c[0], c[1]) <= thickness / 2
  );
}

// ---- rasteriser -------------------------------------------------------------------------------------------

const SAMPLES = 4;

/** paint(x, y) returns [r, g, b, a] (a in 0..1) for a point of the unit square; pixels average 16 samples. */
function rasterise(size, paint) {
  const out = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = 0; sy < SAMPLES; sy++) {
        for (let sx = 0; sx < SAMPLES; sx++) {
          const [cr, cg, cb, ca] = paint(
            (px + (sx + 0.5) / SAMPLES) / size,
            (py + (sy + 0.5) / SAMPLES) / size,
          );
          r += cr * ca;
          g += cg * ca;
          b += cb * ca;
          a += ca;
        }
      }
      const i = (py * size + px) * 4;
      const n = SAMPLES * SAMPLES;
      out[i] = a === 0 ? 0 : Math.round(r / a);
      out[i + 1] = a === 0 ? 0 : Math.round(g / a);
      out[i + 2] = a === 0 ? 0 : Math.round(b / a);
      out[i + 3] = Math.round((a / n) * 255);
    }
  }
  return out;
}

/** Colour icon: accent background, white shield, accent check. */
function colorIcon(x, y) {
  if (insideShield(x, y, 0.08) && insideCheck(x, y, 0.075)) return [...ACCENT, 1];
  if (insideShield(x, y, 0.08)) return [...WHITE, 1];
  return [...ACCENT, 1];
}

/** Outline icon: white shield with the check knocked out, transparent everywhere else (Teams' rule). */
function outlineIcon(x, y) {
  if (insideShield(x, y, 0) && !insideCheck(x, y, 0.11)) return [...WHITE, 1];
  return [...WHITE, 0];
}

function main() {
  const dir = path.join(__dirname, '..', 'appPackage');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'color.png'), encodePng(192, 192, rasterise(192, colorIcon)));
  fs.writeFileSync(path.join(dir, 'outline.png'), encodePng(32, 32, rasterise(32, outlineIcon)));
  console.log('wrote appPackage/color.png (192x192) and appPackage/outline.png (32x32)');
}

main();
